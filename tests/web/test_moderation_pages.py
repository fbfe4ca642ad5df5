"""The web moderation pages (`web/moderation/`, issue 14 item 4): a user reports an account through the
Mastodon API, a moderator finds the report on the web, assigns it and resolves it by suspending the account;
every action is the admin API's `moderation` function, audited. Plain users get 403 on every page and form,
browsers not signed in the login; moderators may not change roles or act on admins; forms need their token.
The report flow runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pyotp
import pytest
from sqlalchemy import select

from storage.accounts import local_account_by_username, user_for_account
from storage.models import Account, AuditEntry, Report, User
from storage.types import utcnow
from support.accounts import stored_remote_account
from support.databases import sqlite_url
from support.instance import RunningInstance, make_settings, serve_in_process
from support.oauth import bearer, make_token, make_user
from support.web import PASSWORD, csrf_of, web_login


@pytest.fixture
async def instance_on_each_backend(tmp_path: Path, database_url: str) -> AsyncIterator[RunningInstance]:
    async with serve_in_process(make_settings(tmp_path, database_url=database_url)) as running:
        yield running


@pytest.fixture
async def instance(tmp_path: Path) -> AsyncIterator[RunningInstance]:
    async with serve_in_process(make_settings(tmp_path, database_url=sqlite_url(str(tmp_path)))) as running:
        yield running


async def _user(instance: RunningInstance, username: str, role: str = "user", **columns: object) -> Account:
    assert instance.ctx is not None
    account = await make_user(instance.ctx, username, PASSWORD)
    async with instance.ctx.db.transaction() as session:
        user = await user_for_account(session, account.id)
        assert user is not None
        user.role = role
        for name, value in columns.items():
            setattr(user, name, value)
    return account


async def _login_row(instance: RunningInstance, username: str) -> User:
    assert instance.ctx is not None
    async with instance.ctx.db.read() as session:
        account = await local_account_by_username(session, username)
        assert account is not None
        user = await user_for_account(session, account.id)
        assert user is not None
        return user


async def _account(instance: RunningInstance, account_id: int) -> Account:
    assert instance.ctx is not None
    async with instance.ctx.db.read() as session:
        account = await session.get(Account, account_id)
        assert account is not None
        return account


async def _audit(instance: RunningInstance) -> list[tuple[str, str, str, dict[str, object]]]:
    assert instance.ctx is not None
    async with instance.ctx.db.read() as session:
        rows = await session.execute(select(AuditEntry).order_by(AuditEntry.created_at, AuditEntry.id))
        return [(e.action, e.actor, e.target, e.details) for e in rows.scalars()]


async def _file_report(instance: RunningInstance, http: httpx.AsyncClient, target_id: int) -> int:
    """A report by @rep about the account `target_id` (a post of it cited when it has one)."""
    assert instance.ctx is not None
    await _user(instance, "rep")
    reporter = bearer(await make_token(instance.ctx, "rep", scopes="read write"))
    answer = await http.post(
        "/api/v1/reports",
        json={"account_id": str(target_id), "comment": "verkoopt nepmedicijnen", "category": "spam"},
        headers=reporter,
    )
    assert answer.status_code == 200, answer.text
    return int(answer.json()["id"])


async def _post(browser: httpx.AsyncClient, page: str, action: str, data: dict[str, str]) -> httpx.Response:
    """Open `page` as the browser would, then post its form to `action` with the page's token."""
    shown = await browser.get(page)
    assert shown.status_code == 200, shown.text
    return await browser.post(action, data={"csrf_token": csrf_of(shown.text), **data})


async def test_a_moderator_assigns_and_resolves_a_report_by_suspending(
    instance_on_each_backend: RunningInstance,
) -> None:
    instance = instance_on_each_backend
    assert instance.ctx is not None
    await _user(instance, "mo", "moderator")
    spammer = await _user(instance, "spammer")
    spammer_token = bearer(await make_token(instance.ctx, "spammer", scopes="read write"))
    async with instance.client() as http:
        status = await http.post("/api/v1/statuses", json={"status": "Koop nu pillen"}, headers=spammer_token)
        assert status.status_code == 200
        await _user(instance, "rep")
        reporter = bearer(await make_token(instance.ctx, "rep", scopes="read write"))
        filed = await http.post(
            "/api/v1/reports",
            json={
                "account_id": str(spammer.id),
                "status_ids": [status.json()["id"]],
                "comment": "verkoopt nepmedicijnen",
                "category": "spam",
            },
            headers=reporter,
        )
        assert filed.status_code == 200, filed.text
    report_id = int(filed.json()["id"])
    page = f"/web/admin/reports/{report_id}"
    async with instance.client() as browser:
        await web_login(browser, "mo", PASSWORD)
        home = await browser.get("/web/home")
        assert 'href="/web/admin"' in home.text and "Moderatie" in home.text
        index = await browser.get("/web/admin")
        assert index.status_code == 200
        for link in ("reports", "accounts", "domains", "settings", "jobs", "audit"):
            assert f'href="/web/admin/{link}' in index.text
        listed = await browser.get("/web/admin/reports")
        assert listed.status_code == 200 and f'href="{page}"' in listed.text and "@spammer" in listed.text
        assert f'href="{page}"' not in (await browser.get("/web/admin/reports?state=resolved")).text
        assert f'href="{page}"' not in (await browser.get("/web/admin/reports?mine=1")).text
        shown = await browser.get(page)
        assert shown.status_code == 200
        assert "verkoopt nepmedicijnen" in shown.text and "Koop nu pillen" in shown.text
        assigned = await _post(browser, page, f"{page}/assign", {"assignee": "me"})
        assert (assigned.status_code, assigned.headers["location"]) == (303, f"{page}?done=assigned")
        assert f'href="{page}"' in (await browser.get("/web/admin/reports?mine=1")).text
        resolved = await _post(
            browser, page, f"{page}/resolve", {"action": "suspend", "note": "Verkoop van nepmedicijnen"}
        )
        assert (resolved.status_code, resolved.headers["location"]) == (303, f"{page}?done=suspend")
        after = await browser.get(resolved.headers["location"])
        assert 'role="status"' in after.text and "geschorst" in after.text
        assert f'action="{page}/reopen"' in after.text
    assert (await _account(instance, spammer.id)).suspended_at is not None
    async with instance.ctx.db.read() as session:
        report = await session.get(Report, report_id)
        assert report is not None and report.resolved_at is not None
        assert report.resolution_note == "Verkoop van nepmedicijnen"
    # The admin API sees the same suspension.
    admin_token = bearer(await make_token(instance.ctx, "mo", scopes="admin:read"))
    async with instance.client() as http:
        shown_by_api = await http.get(f"/api/v1/admin/accounts/{spammer.id}", headers=admin_token)
        assert shown_by_api.json()["suspended"] is True
    assert [(action, actor, target) for action, actor, target, _ in await _audit(instance)] == [
        ("report.assign", "@mo", f"report:{report_id}"),
        ("report.suspend", "@mo", f"report:{report_id}"),
    ]
    assert (await _audit(instance))[1][3]["note"] == "Verkoop van nepmedicijnen"


async def test_a_remote_account_is_limited_from_its_report(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    await _user(instance, "mo", "moderator")
    troll = await stored_remote_account(instance.ctx, "troll", "far.example")
    async with instance.client() as http:
        report_id = await _file_report(instance, http, troll.id)
    page = f"/web/admin/reports/{report_id}"
    async with instance.client() as browser:
        await web_login(browser, "mo", PASSWORD)
        shown = await browser.get(page)
        assert "@troll@far.example" in shown.text
        limited = await _post(browser, page, f"{page}/resolve", {"action": "silence", "note": "te luid"})
        assert limited.status_code == 303
        reopened = await _post(browser, page, f"{page}/reopen", {})
        assert (reopened.status_code, reopened.headers["location"]) == (303, f"{page}?done=reopened")
        # The account page shows the report, and finds the account by its domain.
        account_page = await browser.get(f"/web/admin/accounts/{troll.id}")
        assert account_page.status_code == 200 and f'href="{page}"' in account_page.text
        found = await browser.get("/web/admin/accounts?q=far.example&origin=remote&state=silenced")
        assert f'href="/web/admin/accounts/{troll.id}"' in found.text
        assert (
            f"/web/admin/accounts/{troll.id}"
            not in (await browser.get("/web/admin/accounts?origin=local")).text
        )
    assert (await _account(instance, troll.id)).silenced_at is not None
    assert [action for action, *_ in await _audit(instance)] == ["report.silence", "report.reopen"]


async def test_plain_users_are_refused_everything_and_strangers_sent_to_log_in(
    instance: RunningInstance,
) -> None:
    assert instance.ctx is not None
    await _user(instance, "alice")
    target = await _user(instance, "bob")
    async with instance.client() as http:
        report_id = await _file_report(instance, http, target.id)
    pages = [
        "/web/admin",
        "/web/admin/reports",
        f"/web/admin/reports/{report_id}",
        "/web/admin/accounts",
        f"/web/admin/accounts/{target.id}",
    ]
    posts = [
        (f"/web/admin/reports/{report_id}/assign", {"assignee": "me"}),
        (f"/web/admin/reports/{report_id}/resolve", {"action": "suspend"}),
        (f"/web/admin/reports/{report_id}/reopen", {}),
        (f"/web/admin/accounts/{target.id}/action", {"action": "suspend"}),
        (f"/web/admin/accounts/{target.id}/action", {"action": "role", "role": "admin"}),
    ]
    async with instance.client() as stranger:
        for path in pages:
            answer = await stranger.get(path)
            assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next="), path
        for path, data in posts:
            answer = await stranger.post(path, data=data)
            assert answer.status_code == 303 and answer.headers["location"].startswith("/login"), path
    async with instance.client() as browser:
        await web_login(browser, "alice", PASSWORD)
        home = await browser.get("/web/home")
        assert 'href="/web/admin"' not in home.text
        for path in pages:
            answer = await browser.get(path)
            assert answer.status_code == 403 and "text/html" in answer.headers["content-type"], path
        token = csrf_of(home.text)
        for path, data in posts:
            answer = await browser.post(path, data={"csrf_token": token, **data})
            assert answer.status_code == 403, path
    assert await _audit(instance) == []
    assert (await _account(instance, target.id)).suspended_at is None
    assert (await _login_row(instance, "alice")).role == "user"


async def test_only_admins_change_roles_and_act_on_admins(instance: RunningInstance) -> None:
    await _user(instance, "mo", "moderator")
    await _user(instance, "ada", "admin")
    ada = await _user(instance, "ada", "admin")
    clerk = await _user(instance, "clerk")
    clerk_page = f"/web/admin/accounts/{clerk.id}"
    async with instance.client() as browser:
        await web_login(browser, "mo", PASSWORD)
        assert 'name="role"' not in (await browser.get(clerk_page)).text
        refused = await _post(
            browser, clerk_page, f"{clerk_page}/action", {"action": "role", "role": "admin"}
        )
        assert refused.status_code == 403
        ada_page = f"/web/admin/accounts/{ada.id}"
        on_admin = await _post(browser, ada_page, f"{ada_page}/action", {"action": "suspend"})
        assert on_admin.status_code == 403
    assert (await _login_row(instance, "clerk")).role == "user"
    assert (await _account(instance, ada.id)).suspended_at is None
    async with instance.client() as browser:
        await web_login(browser, "ada", PASSWORD)
        changed = await _post(
            browser, clerk_page, f"{clerk_page}/action", {"action": "role", "role": "moderator"}
        )
        assert (changed.status_code, changed.headers["location"]) == (303, f"{clerk_page}?done=role")
        bad_role = await _post(
            browser, clerk_page, f"{clerk_page}/action", {"action": "role", "role": "owner"}
        )
        assert bad_role.status_code == 422
    assert (await _login_row(instance, "clerk")).role == "moderator"
    assert [(a, actor, d["after"]) for a, actor, _, d in await _audit(instance)] == [
        ("account.role", "@ada", "moderator")
    ]


async def test_sign_ups_are_approved_and_rejected(instance: RunningInstance) -> None:
    await _user(instance, "mo", "moderator")
    waiting = await _user(instance, "newbie", approved=False, sign_up_reason="Ik werk bij de gemeente")
    unwanted = await _user(instance, "spambot", approved=False)
    async with instance.client() as browser:
        await web_login(browser, "mo", PASSWORD)
        pending = await browser.get("/web/admin/accounts?state=pending")
        assert "@newbie" in pending.text and "@spambot" in pending.text and "@mo<" not in pending.text
        page = f"/web/admin/accounts/{waiting.id}"
        assert "Ik werk bij de gemeente" in (await browser.get(page)).text
        approved = await _post(browser, page, f"{page}/action", {"action": "approve"})
        assert (approved.status_code, approved.headers["location"]) == (303, f"{page}?done=approve")
        again = await _post(browser, page, f"{page}/action", {"action": "approve"})
        assert again.status_code == 404
        rejected_page = f"/web/admin/accounts/{unwanted.id}"
        rejected = await _post(browser, rejected_page, f"{rejected_page}/action", {"action": "reject"})
        assert (rejected.status_code, rejected.headers["location"]) == (
            303,
            "/web/admin/accounts?done=rejected",
        )
        assert (await browser.get(rejected_page)).status_code == 404
    assert (await _login_row(instance, "newbie")).approved is True
    assert [action for action, *_ in await _audit(instance)] == ["account.approve", "account.reject"]


async def test_a_form_without_its_token_changes_nothing(instance: RunningInstance) -> None:
    await _user(instance, "mo", "moderator")
    target = await _user(instance, "bob")
    async with instance.client() as http:
        report_id = await _file_report(instance, http, target.id)
    async with instance.client() as browser:
        await web_login(browser, "mo", PASSWORD)
        for path, data in (
            (f"/web/admin/reports/{report_id}/resolve", {"action": "suspend"}),
            (f"/web/admin/accounts/{target.id}/action", {"action": "suspend"}),
        ):
            assert (await browser.post(path, data=data)).status_code == 403
            assert (await browser.post(path, data={**data, "csrf_token": "forged"})).status_code == 403
    assert (await _account(instance, target.id)).suspended_at is None
    assert await _audit(instance) == []


async def test_a_moderator_resets_a_second_factor(instance: RunningInstance) -> None:
    await _user(instance, "mo", "moderator")
    locked_out = await _user(
        instance,
        "lockedout",
        totp_secret=pyotp.random_base32(),
        totp_enabled_at=utcnow(),
        recovery_code_hashes=["x"],
    )
    page = f"/web/admin/accounts/{locked_out.id}"
    async with instance.client() as browser:
        await web_login(browser, "mo", PASSWORD)
        reset = await _post(
            browser, page, f"{page}/action", {"action": "reset_second_factor", "note": "belde op"}
        )
        assert (reset.status_code, reset.headers["location"]) == (303, f"{page}?done=reset_second_factor")
        twice = await _post(browser, page, f"{page}/action", {"action": "reset_second_factor"})
        assert twice.status_code == 422
    user = await _login_row(instance, "lockedout")
    assert (user.totp_secret, user.totp_enabled_at, user.recovery_code_hashes) == (None, None, None)
    assert [(a, d["note"]) for a, _, _, d in await _audit(instance)] == [
        ("account.reset_second_factor", "belde op")
    ]
    # With its password alone it signs in again.
    async with instance.client() as browser:
        signed_in = await web_login(browser, "lockedout", PASSWORD)
        assert signed_in.headers["location"] == "/web/home"
