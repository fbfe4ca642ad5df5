"""The sign-up and recovery pages over HTTP as a browser uses them (CSRF tokens from the pages, plain form
posts): an invite link → sign-up → the confirmation mail from a real local SMTP server (aiosmtpd) → its
link → log in; the password reset request, mail, form and its effects; what each registration mode shows."""

from __future__ import annotations

import argparse
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from plein.jobs import job_handlers
from plein.signup_admin import invite_command
from storage.audit import recent_audit_entries
from storage.models import LoginSession, User
from storage.worker import drain
from support.databases import sqlite_url
from support.instance import RunningInstance, make_settings, serve_in_process
from support.mailbox import body_of, link_in, smtp_server
from support.oauth import bearer, make_token, make_user
from support.web import csrf_of, post_form, web_login

PASSWORD = "correct horse battery staple"
ENGLISH = {"Accept-Language": "en"}


@asynccontextmanager
async def instance_with(tmp_path: Path, **overrides: Any) -> AsyncIterator[RunningInstance]:
    settings = make_settings(tmp_path, database_url=sqlite_url(str(tmp_path)), **overrides)
    async with serve_in_process(settings) as running:
        yield running


async def run_jobs(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    await drain(instance.ctx.db, job_handlers(instance.ctx))


async def test_invited_person_signs_up_confirms_by_mail_and_logs_in(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with (
        smtp_server() as mailbox,
        instance_with(tmp_path, **{"registration.mode": "invite", **mailbox.settings()}) as instance,
        instance.client(headers={"Accept-Language": "nl"}) as browser,
    ):
        assert instance.ctx is not None
        await invite_command(
            instance.ctx, argparse.Namespace(action="create", max_uses=1, expires_in_hours=24.0)
        )
        invite_link = capsys.readouterr().out.strip()
        assert invite_link.startswith(f"{instance.base_url}/invite/")

        closed_without = await browser.get("/auth/sign_up")
        assert (
            "uitnodiging nodig" in closed_without.text
            and '<form method="post" action="/auth/sign_up"' not in closed_without.text
        )
        landing = await browser.get(invite_link)
        assert landing.status_code == 200
        assert '<html lang="nl">' in landing.text and "Aanmelden bij" in landing.text
        fields = {
            "csrf_token": csrf_of(landing.text),
            "invite_code": invite_link.rsplit("/", 1)[1],
            "username": "waterschap",
            "email": "web@waterschap.example",
            "password": PASSWORD,
            "agreement": "1",
        }
        assert (
            await browser.post("/auth/sign_up", data={**fields, "csrf_token": "forged"})
        ).status_code == 403
        short = await browser.post("/auth/sign_up", data={**fields, "password": "kort"})
        assert short.status_code == 422
        assert "Het wachtwoord is te kort" in short.text and 'aria-invalid="true"' in short.text
        signed_up = await browser.post("/auth/sign_up", data=fields)
        assert signed_up.status_code == 200, signed_up.text
        assert "web@waterschap.example" in signed_up.text

        # The invite admitted one person: its link no longer works.
        assert (await browser.get(invite_link)).status_code == 404
        # Not confirmed yet: the web login refuses the right password.
        page = await browser.get("/login")
        refused = await browser.post(
            "/login", data={"csrf_token": csrf_of(page.text), "username": "waterschap", "password": PASSWORD}
        )
        assert refused.status_code == 403

        await run_jobs(instance)
        [message] = mailbox.to("web@waterschap.example")
        assert message["Content-Language"] == "nl"  # the language the sign-up page was read in
        assert "@waterschap" in body_of(message)
        confirmed = await browser.get(link_in(message, "/auth/confirmation"))
        assert confirmed.status_code == 200 and "bevestigd" in confirmed.text
        await web_login(browser, "waterschap", PASSWORD)


async def test_each_mode_shows_its_own_form(tmp_path: Path) -> None:
    async with instance_with(tmp_path / "closed") as closed, closed.client(headers=ENGLISH) as browser:
        page = await browser.get("/auth/sign_up")
        assert page.status_code == 200 and "does not take sign-ups" in page.text
        assert 'action="/auth/sign_up"' not in page.text
        assert (await browser.get("/invite/made-up")).status_code == 404
    async with (
        instance_with(tmp_path / "approval", **{"registration.mode": "approval"}) as approval,
        approval.client(headers=ENGLISH) as browser,
    ):
        page = await browser.get("/auth/sign_up")
        assert 'name="reason"' in page.text
        no_reason = await post_form(
            browser,
            "/auth/sign_up",
            "/auth/sign_up",
            {"username": "gemeente", "email": "g@example.test", "password": PASSWORD, "agreement": "1"},
        )
        assert no_reason.status_code == 422 and "why you want to join" in no_reason.text
        waiting = await post_form(
            browser,
            "/auth/sign_up",
            "/auth/sign_up",
            {
                "username": "gemeente",
                "email": "g@example.test",
                "password": PASSWORD,
                "agreement": "1",
                "reason": "De gemeente",
            },
        )
        assert waiting.status_code == 200 and "will review your request" in waiting.text


async def test_password_reset_by_mail_ends_every_session(tmp_path: Path) -> None:
    async with (
        smtp_server() as mailbox,
        instance_with(tmp_path, **mailbox.settings()) as instance,
        instance.client() as browser,
        instance.client() as other_browser,
    ):
        assert instance.ctx is not None
        await make_user(instance.ctx, "alice", PASSWORD)  # alice@example.test
        api_token = await make_token(instance.ctx, "alice")
        await web_login(other_browser, "alice", PASSWORD)

        asked = await post_form(
            browser, "/auth/password/new", "/auth/password", {"email": "ALICE@example.test"}
        )
        unknown = await post_form(
            browser, "/auth/password/new", "/auth/password", {"email": "nobody@example.test"}
        )
        assert asked.status_code == unknown.status_code == 200
        assert asked.text == unknown.text  # nobody learns whether an address has an account
        await run_jobs(instance)
        assert [message["To"] for message in mailbox.messages] == ["alice@example.test"]
        link = link_in(mailbox.messages[0], "/auth/password/edit")

        form = await browser.get(link)
        assert form.status_code == 200
        secret = link.split("reset_password_token=")[1]
        mismatch = await browser.post(
            "/auth/password/edit",
            data={
                "csrf_token": csrf_of(form.text),
                "reset_password_token": secret,
                "password": "a brand new password",
                "password_confirmation": "another one",
            },
        )
        assert mismatch.status_code == 422
        done = await browser.post(
            "/auth/password/edit",
            data={
                "csrf_token": csrf_of(form.text),
                "reset_password_token": secret,
                "password": "a brand new password",
                "password_confirmation": "a brand new password",
            },
        )
        assert done.status_code == 200 and "@alice" in done.text
        assert (await browser.get(link)).status_code == 404  # single use

        verify = await browser.get("/api/v1/accounts/verify_credentials", headers=bearer(api_token))
        assert verify.status_code == 401
        async with instance.ctx.db.read() as session:
            user_id = (
                await session.execute(select(User.id).where(User.email == "alice@example.test"))
            ).scalar_one()
            sessions = await session.scalar(select(func.count()).where(LoginSession.user_id == user_id))
        assert sessions == 0
        page = await browser.get("/login")
        old = await browser.post(
            "/login", data={"csrf_token": csrf_of(page.text), "username": "alice", "password": PASSWORD}
        )
        assert old.status_code == 422
        await web_login(browser, "alice", "a brand new password")

        # Requests for one address are limited (3 per half hour, this one's included).
        for _ in range(2):
            await post_form(browser, "/auth/password/new", "/auth/password", {"email": "alice@example.test"})
        throttled = await post_form(
            browser, "/auth/password/new", "/auth/password", {"email": "alice@example.test"}
        )
        assert throttled.status_code == 429


async def test_staff_make_and_revoke_invites_in_the_browser(tmp_path: Path) -> None:
    async with (
        instance_with(tmp_path, **{"registration.mode": "invite"}) as instance,
        instance.client(headers=ENGLISH) as admin_browser,
        instance.client(headers=ENGLISH) as user_browser,
        instance.client(headers=ENGLISH) as visitor,
    ):
        assert instance.ctx is not None
        admin = await make_user(instance.ctx, "beheer", PASSWORD)
        await make_user(instance.ctx, "gewoon", PASSWORD)
        async with instance.ctx.db.transaction() as session:
            await session.execute(update(User).where(User.account_id == admin.id).values(role="admin"))
        assert (await visitor.get("/web/invites")).status_code == 303  # to the login
        await web_login(user_browser, "gewoon", PASSWORD)
        assert (await user_browser.get("/web/invites")).status_code == 403
        await web_login(admin_browser, "beheer", PASSWORD)

        made = await post_form(
            admin_browser, "/web/invites", "/web/invites", {"max_uses": "", "expires_in": "86400"}
        )
        assert made.status_code == 200
        link = re.search(r'<code id="new-invite-link">([^<]+)</code>', made.text)
        assert link is not None
        assert (await visitor.get(link.group(1))).status_code == 200
        listing = await admin_browser.get("/web/invites")
        assert link.group(1) not in listing.text  # shown once: only its hash is kept
        invite_id = re.search(r'action="/web/invites/(\d+)/revoke"', listing.text)
        assert invite_id is not None
        refused = await user_browser.post(
            f"/web/invites/{invite_id.group(1)}/revoke",
            data={"csrf_token": csrf_of((await user_browser.get("/about")).text)},
        )
        assert refused.status_code == 403
        revoked = await admin_browser.post(
            f"/web/invites/{invite_id.group(1)}/revoke", data={"csrf_token": csrf_of(listing.text)}
        )
        assert revoked.status_code == 303
        assert (await visitor.get(link.group(1))).status_code == 404
        async with instance.ctx.db.read() as session:
            actions = [(entry.actor, entry.action) for entry in await recent_audit_entries(session)]
        assert actions[:2] == [("@beheer", "invite.revoke"), ("@beheer", "invite.create")]
