"""A login the moderators locked out (suspended account, disabled login) signs in to a restricted web session,
as Mastodon lets it, to read its warnings and appeal: it reaches the disputes pages, the sign-out and the
static assets, and every other page — a handful of them, and a form post — answers 403 with a page naming the
measure and linking to the disputes; CSRF still applies; its API token stays refused as before. Once the
appeal is approved the same session is a normal one. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

import moderation
from storage.models import AccountWarning, Appeal, Status
from support.instance import RunningInstance, make_settings, serve_in_process
from support.mailbox import Mailbox, smtp_server
from support.oauth import bearer, make_token
from support.staff import make_staff
from support.web import PASSWORD, csrf_of, web_login

MAIL_HOST = "127.0.27.25"  # this helper's loopback range
CLOSED_PAGES = ("/web/home", "/web/compose", "/web/settings", "/web/notifications", "/web/admin", "/")


@pytest.fixture
async def mailbox() -> AsyncIterator[Mailbox]:
    async with smtp_server(MAIL_HOST) as received:
        yield received


@pytest.fixture
async def instance_on_each_backend(
    tmp_path: Path, database_url: str, mailbox: Mailbox
) -> AsyncIterator[RunningInstance]:
    settings = make_settings(tmp_path, database_url=database_url, **mailbox.settings())
    async with serve_in_process(settings) as running:
        yield running


async def _count(instance: RunningInstance, model: type) -> int:
    assert instance.ctx is not None
    async with instance.ctx.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _newest_warning(instance: RunningInstance) -> AccountWarning:
    assert instance.ctx is not None
    async with instance.ctx.db.read() as session:
        query = select(AccountWarning).order_by(AccountWarning.id.desc()).limit(1)
        return (await session.execute(query)).scalar_one()


async def _assert_closed(browser: httpx.AsyncClient, heading: str) -> None:
    for path in CLOSED_PAGES:
        closed = await browser.get(path)
        assert closed.status_code == 403, (path, closed.status_code)
        assert heading in closed.text and 'href="/web/disputes"' in closed.text, path
        assert closed.headers["cache-control"] == "no-store"


async def test_a_suspended_account_signs_in_to_appeal_and_nothing_else(
    instance_on_each_backend: RunningInstance,
) -> None:
    instance = instance_on_each_backend
    ctx = instance.ctx
    assert ctx is not None
    await make_staff(instance, "mo", "moderator")
    clerk = await make_staff(instance, "clerk")
    token = await make_token(ctx, "clerk")
    telling = moderation.Telling(tell=True)
    await moderation.moderate_account(ctx, clerk.id, "suspend", actor="@mo", text="Spam", telling=telling)
    warning = await _newest_warning(instance)
    dispute = f"/web/disputes/{warning.id}"

    async with instance.client() as clerk_browser, instance.client() as staff, instance.client() as api:
        # The password opens a restricted session, straight to the disputes whatever `next` asked for.
        page = await clerk_browser.get("/login?next=/web/settings")
        signed = await clerk_browser.post(
            "/login",
            data={
                "csrf_token": csrf_of(page.text),
                "username": "clerk",
                "password": PASSWORD,
                "next": "/web/settings",
            },
        )
        assert (signed.status_code, signed.headers["location"]) == (303, "/web/disputes")
        listed = await clerk_browser.get("/web/disputes")
        assert listed.status_code == 200 and f'href="{dispute}"' in listed.text
        assert 'href="/web/home"' not in listed.text  # its own short navigation
        assert (await clerk_browser.get("/static/site.css")).status_code == 200

        await _assert_closed(clerk_browser, "Uw account is opgeschort")
        # A form post elsewhere — even with the session's own CSRF token — is refused and changes nothing.
        shown = await clerk_browser.get(dispute)
        assert shown.status_code == 200 and 'name="text"' in shown.text
        form_token = csrf_of(shown.text)
        posted = await clerk_browser.post(
            "/web/compose", data={"csrf_token": form_token, "status": "Ik ben er nog", "visibility": "public"}
        )
        assert posted.status_code == 403 and await _count(instance, Status) == 0
        # The OAuth consent page is closed too: no new app may get a token through this session.
        assert (await clerk_browser.get("/oauth/authorize?client_id=x")).status_code == 403

        # The API stays closed as before: the suspension revoked the account's tokens, cookie or not.
        refused = await api.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
        assert refused.status_code == 401
        with_cookie = await clerk_browser.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
        assert (with_cookie.status_code, with_cookie.json()) == (401, refused.json())
        assert (await clerk_browser.get("/api/v1/accounts/verify_credentials")).status_code == 401

        # The appeal: CSRF still applies, then it is made.
        no_token = await clerk_browser.post(f"{dispute}/appeal", data={"text": "Vergissing"})
        assert no_token.status_code == 403 and await _count(instance, Appeal) == 0
        sent = await clerk_browser.post(
            f"{dispute}/appeal", data={"csrf_token": form_token, "text": "Het was geen spam."}
        )
        assert (sent.status_code, sent.headers["location"]) == (303, f"{dispute}?done=appealed")
        assert await _count(instance, Appeal) == 1

        # Approved: the suspension is lifted and the same session is a normal one at its next request.
        await web_login(staff, "mo", PASSWORD)
        async with ctx.db.read() as session:
            appeal_id = (await session.execute(select(Appeal.id))).scalar_one()
        decide_page = await staff.get("/web/admin/appeals")
        decided = await staff.post(
            f"/web/admin/appeals/{appeal_id}/decide",
            data={"csrf_token": csrf_of(decide_page.text), "decision": "approve"},
        )
        assert decided.status_code == 303
        home = await clerk_browser.get("/web/home")
        assert home.status_code == 200 and 'href="/web/compose"' in home.text


async def test_a_disabled_login_signs_in_restricted_and_signs_out(
    instance_on_each_backend: RunningInstance,
) -> None:
    instance = instance_on_each_backend
    ctx = instance.ctx
    assert ctx is not None
    await make_staff(instance, "mo", "moderator")
    dora = await make_staff(instance, "dora")
    token = await make_token(ctx, "dora")
    await moderation.moderate_account(
        ctx, dora.id, "disable", actor="@mo", text="Even niet", telling=moderation.Telling(tell=True)
    )
    warning = await _newest_warning(instance)
    async with instance.client() as browser:
        signed = await web_login(browser, "dora", PASSWORD)
        assert signed.headers["location"] == "/web/disputes"
        assert "Even niet" in (await browser.get(f"/web/disputes/{warning.id}")).text
        await _assert_closed(browser, "Uw login is uitgeschakeld")
        # The API token (sent with the session's cookie) stays refused, in Mastodon's words.
        refused = await browser.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
        assert refused.status_code == 403
        assert refused.json() == {"error": "Your login is currently disabled"}
        # Another account's warning is no more reachable than before.
        assert (await browser.get(f"/web/disputes/{warning.id + 1000}")).status_code == 404
        # Signing out needs the form's token, and ends the session.
        page = await browser.get("/web/disputes")
        assert (await browser.post("/logout", data={})).status_code == 403
        out = await browser.post("/logout", data={"csrf_token": csrf_of(page.text)})
        assert (out.status_code, out.headers["location"]) == (303, "/")
        gone = await browser.get("/web/disputes")
        assert gone.status_code == 303 and gone.headers["location"].startswith("/login")
        # Signed out, the other pages are a visitor's again.
        assert (await browser.get("/")).status_code == 200
