"""Account moderation flags and warnings through the admin API (issue 14, moderation gaps): a disabled
login's token is refused (403, Mastodon's JSON error) and its web login too until it is enabled; a
sensitized account's new media come out sensitive; an action with a text becomes an account warning, a
`moderation_warning` notification (v1 with its types filter, and grouped) and, asked for, a mail received by
a real SMTP server (aiosmtpd). Bad input changes nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from checked import call
from sqlalchemy import func, select

from plein.jobs import job_handlers
from storage.accounts import local_account_by_username
from storage.models import AccountWarning, AuditEntry, Notification, Status
from storage.worker import drain
from support.instance import RunningInstance, make_settings, serve_in_process
from support.mailbox import Mailbox, body_of, smtp_server
from support.oauth import form_fields
from support.openapi import validate_entity
from support.staff import ADMIN_SCOPES, role_bearer
from support.web import PASSWORD, png_bytes, web_login

MAIL_HOST = "127.0.21.1"  # this helper's loopback address


@pytest.fixture
async def mailbox() -> AsyncIterator[Mailbox]:
    async with smtp_server(MAIL_HOST) as received:
        yield received


@pytest.fixture
async def mailing_instance(
    tmp_path: Path, database_url: str, mailbox: Mailbox
) -> AsyncIterator[RunningInstance]:
    settings = make_settings(tmp_path, database_url=database_url, **mailbox.settings())
    async with serve_in_process(settings) as running:
        yield running


async def _account_id(instance: RunningInstance, username: str) -> int:
    assert instance.ctx is not None
    async with instance.ctx.db.read() as session:
        account = await local_account_by_username(session, username)
        assert account is not None
        return account.id


async def _count(instance: RunningInstance, model: type) -> int:
    assert instance.ctx is not None
    async with instance.ctx.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _admin_get(http: httpx.AsyncClient, path: str, moderator: dict[str, str]) -> Any:
    """An admin API answer (the OpenAPI description Plein checks against has no admin paths)."""
    response = await http.get(path, headers=moderator)
    assert response.status_code == 200, response.text
    return response.json()


def _json_error(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert isinstance(response.json().get("error"), str)


async def test_a_disabled_login_is_refused_everywhere_until_enabled(
    instance_on_each_backend: RunningInstance,
) -> None:
    instance = instance_on_each_backend
    moderator = await role_bearer(instance, "mo", role="moderator", scopes=ADMIN_SCOPES)
    clerk = await role_bearer(instance, "clerk", role="user", scopes="read write")
    clerk_id = await _account_id(instance, "clerk")
    action = f"/api/v1/admin/accounts/{clerk_id}/action"
    async with instance.client() as http, instance.client() as browser:
        await web_login(browser, "clerk", PASSWORD)
        assert (await browser.get("/web/home")).status_code == 200
        assert (await http.get("/api/v1/timelines/home", headers=clerk)).status_code == 200

        disabled = await http.post(action, json={"type": "disable"}, headers=moderator)
        assert (disabled.status_code, disabled.json()) == (200, {})
        for path in ("/api/v1/accounts/verify_credentials", "/api/v1/timelines/home"):
            refused = await http.get(path, headers=clerk)
            _json_error(refused, 403)
            assert refused.json()["error"] == "Your login is currently disabled"
        # The browser's session ended; a new login opens only the restricted session, to appeal.
        assert (await browser.get("/web/home")).status_code in (302, 303)
        page = await browser.get("/login")
        login = await browser.post(
            "/login", data={**form_fields(page.text), "username": "clerk", "password": PASSWORD}
        )
        assert (login.status_code, login.headers["location"]) == (303, "/web/disputes")
        assert (await browser.get("/web/home")).status_code == 403
        # The account is still there for everyone else.
        assert (await http.get(f"/api/v1/accounts/{clerk_id}")).status_code == 200

        shown = await _admin_get(http, f"/api/v1/admin/accounts/{clerk_id}", moderator)
        validate_entity("AdminAccount", shown, all_properties=True)
        assert (shown["disabled"], shown["sensitized"]) == (True, False)
        listed = await _admin_get(http, "/api/v1/admin/accounts?disabled=true", moderator)
        assert [item["username"] for item in listed] == ["clerk"]
        listed_v2 = await _admin_get(http, "/api/v2/admin/accounts?status=disabled", moderator)
        assert [item["username"] for item in listed_v2] == ["clerk"]

        audit_before = await _count(instance, AuditEntry)
        _json_error(await http.post(action, json={"type": "disable"}, headers=moderator), 422)
        _json_error(await http.post(action, json={"type": "explode"}, headers=moderator), 422)
        assert await _count(instance, AuditEntry) == audit_before

        enabled = await http.post(f"/api/v1/admin/accounts/{clerk_id}/enable", headers=moderator)
        assert (enabled.status_code, enabled.json()["disabled"]) == (200, False)
        assert (await http.get("/api/v1/accounts/verify_credentials", headers=clerk)).status_code == 200
        assert (await http.get("/api/v1/timelines/home", headers=clerk)).status_code == 200
        assert (await browser.get("/web/home")).status_code == 200  # the same session, no longer restricted
        _json_error(await http.post(f"/api/v1/admin/accounts/{clerk_id}/enable", headers=moderator), 422)
    assert instance.ctx is not None
    async with instance.ctx.db.read() as session:
        actions = list((await session.execute(select(AuditEntry.action).order_by(AuditEntry.id))).scalars())
    assert [a for a in actions if a in ("account.disable", "account.enable")] == [
        "account.disable",
        "account.enable",
    ]


async def _post_with_media(http: httpx.AsyncClient, token: dict[str, str], text: str) -> dict[str, object]:
    media = await call(
        http, "POST", "/api/v2/media", files={"file": ("p.png", png_bytes(), "image/png")}, headers=token
    )
    return await call(
        http,
        "POST",
        "/api/v1/statuses",
        json={"status": text, "media_ids": [media["id"]], "sensitive": False},
        headers=token,
    )


async def test_a_sensitized_account_s_media_come_out_sensitive(
    instance_on_each_backend: RunningInstance,
) -> None:
    instance = instance_on_each_backend
    moderator = await role_bearer(instance, "mo", role="moderator", scopes=ADMIN_SCOPES)
    author = await role_bearer(instance, "painter", role="user", scopes="read write")
    reader = await role_bearer(instance, "reader", role="user", scopes="read write")
    author_id = await _account_id(instance, "painter")
    async with instance.client() as http:
        before = await _post_with_media(http, author, "older picture")
        assert before["sensitive"] is False
        sensitized = await http.post(
            f"/api/v1/admin/accounts/{author_id}/action", json={"type": "sensitive"}, headers=moderator
        )
        assert sensitized.status_code == 200, sensitized.text
        after = await _post_with_media(http, author, "new picture")
        assert after["sensitive"] is True  # forced, whatever the author asked
        plain = await call(http, "POST", "/api/v1/statuses", json={"status": "words only"}, headers=author)
        assert plain["sensitive"] is False
        # The older post shows sensitive to others (as Mastodon's serializer), as it is to its author.
        seen = await call(http, "GET", f"/api/v1/statuses/{before['id']}", headers=reader)
        assert seen["sensitive"] is True
        own = await call(http, "GET", f"/api/v1/statuses/{before['id']}", headers=author)
        assert own["sensitive"] is False
        listed = await _admin_get(http, "/api/v1/admin/accounts?sensitized=true", moderator)
        assert [item["username"] for item in listed] == ["painter"]
        _json_error(
            await http.post(
                f"/api/v1/admin/accounts/{author_id}/action", json={"type": "sensitive"}, headers=moderator
            ),
            422,
        )
        lifted = await http.post(f"/api/v1/admin/accounts/{author_id}/unsensitive", headers=moderator)
        assert (lifted.status_code, lifted.json()["sensitized"]) == (200, False)
        assert (await _post_with_media(http, author, "free again"))["sensitive"] is False
        seen_again = await call(http, "GET", f"/api/v1/statuses/{before['id']}", headers=reader)
        assert seen_again["sensitive"] is False
    assert instance.ctx is not None
    async with instance.ctx.db.read() as session:
        stored = await session.get(Status, int(str(after["id"])))
        assert stored is not None and stored.sensitive is True  # federated as sensitive too


async def test_a_warning_is_notified_grouped_and_mailed(
    mailing_instance: RunningInstance, mailbox: Mailbox
) -> None:
    instance = mailing_instance
    assert instance.ctx is not None
    moderator = await role_bearer(instance, "mo", role="moderator", scopes=ADMIN_SCOPES)
    clerk = await role_bearer(instance, "clerk", role="user", scopes="read write")
    reporter = await role_bearer(instance, "rep", role="user", scopes="read write")
    clerk_id = await _account_id(instance, "clerk")
    action = f"/api/v1/admin/accounts/{clerk_id}/action"
    async with instance.client() as http:
        # Bad input first: nothing is recorded, nothing is sent.
        for bad in ({"type": "explode", "text": "x"}, {"type": "none", "send_email_notification": "maybe"}):
            _json_error(await http.post(action, json=bad, headers=moderator), 422)
        assert (await _count(instance, AccountWarning), await _count(instance, Notification)) == (0, 0)

        warned = await http.post(
            action,
            json={"type": "none", "text": "Please stop posting adverts.", "send_email_notification": True},
            headers=moderator,
        )
        assert (warned.status_code, warned.json()) == (200, {})
        notifications = await call(
            http, "GET", "/api/v1/notifications?types[]=moderation_warning", headers=clerk
        )
        [notification] = notifications
        validate_entity("Notification", notification)
        warning = notification["moderation_warning"]
        validate_entity("AccountWarning", warning, all_properties=True)
        assert (notification["type"], notification["account"]["id"]) == ("moderation_warning", str(clerk_id))
        assert (warning["action"], warning["text"], warning["status_ids"], warning["appeal"]) == (
            "none",
            "Please stop posting adverts.",
            [],
            None,
        )
        assert warning["target_account"]["id"] == str(clerk_id)
        assert await call(http, "GET", "/api/v1/notifications?types[]=mention", headers=clerk) == []
        grouped = await call(http, "GET", "/api/v2/notifications", headers=clerk)
        [group] = grouped["notification_groups"]
        assert group["type"] == "moderation_warning"
        assert group["moderation_warning"]["text"] == "Please stop posting adverts."

        # An action against a report: the warning names the report's posts, and the report who resolved it.
        post = await call(http, "POST", "/api/v1/statuses", json={"status": "Buy pills"}, headers=clerk)
        report = await call(
            http,
            "POST",
            "/api/v1/reports",
            json={"account_id": str(clerk_id), "status_ids": [post["id"]], "category": "spam"},
            headers=reporter,
        )
        limited = await http.post(
            action,
            json={"type": "silence", "report_id": report["id"], "text": "Limited for adverts."},
            headers=moderator,
        )
        assert limited.status_code == 200, limited.text
        resolved = await _admin_get(http, f"/api/v1/admin/reports/{report['id']}", moderator)
        assert resolved["action_taken"] is True
        assert resolved["action_taken_by_account"]["username"] == "mo"
        newest = (await call(http, "GET", "/api/v1/notifications", headers=clerk))[0]
        assert newest["moderation_warning"]["action"] == "silence"
        assert newest["moderation_warning"]["status_ids"] == [post["id"]]

        # Without a text or a mail asked for, an action is not told to the account.
        quiet = await http.post(action, json={"type": "sensitive"}, headers=moderator)
        assert quiet.status_code == 200
        assert len(await call(http, "GET", "/api/v1/notifications", headers=clerk)) == 2

    assert mailbox.messages == []  # sent by the job queued with the warning
    await drain(instance.ctx.db, job_handlers(instance.ctx))
    [message] = mailbox.to("clerk@example.test")
    assert "Please stop posting adverts." in body_of(message)
    # The mail links to the warning's own page, where it is read and appealed (not the notifications).
    assert f"/web/disputes/{warning['id']}" in body_of(message)
    assert "/web/notifications" not in body_of(message)
