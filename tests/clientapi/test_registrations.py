"""Signing up through the Mastodon API under each registration mode, with the confirmation mail read from a
real local SMTP server (aiosmtpd) and its link followed; approval by staff through the admin API and the CLI."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from mastodon import Mastodon
from sqlalchemy import select, update

import registration
from plein.admin import account_command
from plein.jobs import job_handlers
from storage.audit import recent_audit_entries
from storage.models import Account, Invite, Job, User
from storage.worker import drain
from support.databases import sqlite_url
from support.instance import RunningInstance, make_settings, serve_in_process
from support.mailbox import MAIL_HOST, body_of, link_in, smtp_server
from support.oauth import app_token, bearer, make_token
from support.tls import PrivateCA

PASSWORD = "correct horse battery staple"
CONFIRMATION_NEEDED = "Your login is missing a confirmed e-mail address"


@asynccontextmanager
async def instance_with(
    tmp_path: Path, database_url: str = "", **overrides: Any
) -> AsyncIterator[RunningInstance]:
    settings = make_settings(tmp_path, database_url=database_url or sqlite_url(str(tmp_path)), **overrides)
    async with serve_in_process(settings) as running:
        yield running


async def run_jobs(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    await drain(instance.ctx.db, job_handlers(instance.ctx))


def sign_up_form(username: str, **extra: str) -> dict[str, str]:
    return {
        "username": username,
        "email": f"{username}@example.test",
        "password": PASSWORD,
        "agreement": "true",
        "locale": "en",
        **extra,
    }


async def staff_token(instance: RunningInstance, username: str = "boss", role: str = "admin") -> str:
    assert instance.ctx is not None
    access_token = await make_token(instance.ctx, username, "read write admin:read admin:write")
    async with instance.ctx.db.transaction() as session:
        account_id = (
            await session.execute(select(Account.id).where(Account.username == username))
        ).scalar_one()
        await session.execute(update(User).where(User.account_id == account_id).values(role=role))
    return access_token


async def test_mastodon_py_signs_up_confirms_by_mail_and_then_may_act(
    tmp_path: Path, database_url: str
) -> None:
    async with (
        smtp_server() as mailbox,
        instance_with(
            tmp_path,
            database_url,
            **{"registration.mode": "open", "instance.languages": ["nl", "en"], **mailbox.settings()},
        ) as instance,
        instance.client() as client,
    ):
        client_id, client_secret = await asyncio.to_thread(
            Mastodon.create_app, "Plein sign-up", scopes=["read", "write"], api_base_url=instance.base_url
        )
        api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=instance.base_url)
        access_token = await asyncio.to_thread(
            api.create_account,
            "nieuw",
            PASSWORD,
            "nieuw@example.test",
            agreement=True,
            locale="nl",
            scopes=["read", "write"],
        )
        assert access_token

        # Until the address is confirmed the token can do nothing, as Mastodon answers.
        refused = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(access_token))
        assert refused.status_code == 403
        assert refused.json() == {"error": CONFIRMATION_NEEDED}
        assert mailbox.messages == []  # sent by the job queued with the account, not during the request

        await run_jobs(instance)
        [message] = mailbox.to("nieuw@example.test")
        assert message["From"] == "plein@example.test"
        assert message["Content-Language"] == "nl"  # the locale given at sign-up
        assert message["Subject"].startswith("Bevestig je e-mailadres")
        assert "@nieuw" in body_of(message)
        link = link_in(message, "/auth/confirmation")

        assert instance.ctx is not None
        async with instance.ctx.db.read() as session:
            stored = (await session.execute(select(Job.payload).where(Job.queue == "mail"))).scalar_one()
        assert link.split("=")[-1] not in str(stored)  # the job never held the secret

        confirmed = await client.get(link)
        assert confirmed.status_code == 200
        assert "@nieuw" in confirmed.text
        assert (await client.get(link)).status_code == 404  # single use

        me = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(access_token))
        assert me.status_code == 200
        assert me.json()["username"] == "nieuw"
        again = await client.post("/api/v1/emails/confirmations", headers=bearer(access_token))
        assert again.status_code == 403
        assert (
            again.json()["error"] == "This method is only available while the e-mail is awaiting confirmation"
        )


async def test_a_new_confirmation_mail_replaces_the_first(tmp_path: Path) -> None:
    async with (
        smtp_server() as mailbox,
        instance_with(tmp_path, **{"registration.mode": "open", **mailbox.settings()}) as instance,
        instance.client() as client,
    ):
        created = await client.post(
            "/api/v1/accounts", data=sign_up_form("typo"), headers=bearer(await app_token(client))
        )
        assert created.status_code == 200
        user_token = created.json()["access_token"]
        await run_jobs(instance)
        resent = await client.post(
            "/api/v1/emails/confirmations", data={"email": "right@example.test"}, headers=bearer(user_token)
        )
        assert resent.status_code == 200
        assert resent.json() == {}
        await run_jobs(instance)
        first = link_in(mailbox.to("typo@example.test")[0], "/auth/confirmation")
        [second_message] = mailbox.to("right@example.test")
        assert second_message["Content-Language"] == "en"
        assert (await client.get(first)).status_code == 404  # the earlier link died with the new one
        assert (await client.get(link_in(second_message, "/auth/confirmation"))).status_code == 200
        assert (
            await client.get("/api/v1/accounts/verify_credentials", headers=bearer(user_token))
        ).status_code == 200


async def test_closed_mode_admits_nobody(tmp_path: Path) -> None:
    async with instance_with(tmp_path) as instance, instance.client() as client:
        token = await app_token(client)
        refused = await client.post("/api/v1/accounts", data=sign_up_form("eve"), headers=bearer(token))
        assert refused.status_code == 403
        assert refused.json()["error"] == "Registrations are closed on this server"
        assert (
            await client.post("/api/v1/accounts", data=sign_up_form("eve"))
        ).status_code == 401  # no token
        v1 = (await client.get("/api/v1/instance")).json()
        assert (v1["registrations"], v1["approval_required"], v1["invites_enabled"]) == (False, False, False)
        assert instance.ctx is not None
        async with instance.ctx.db.read() as session:
            assert (await session.execute(select(Account).where(Account.username == "eve"))).first() is None


async def test_invite_mode_needs_a_usable_invite(tmp_path: Path) -> None:
    async with (
        instance_with(
            tmp_path, **{"registration.mode": "invite", "registration.message": "Alleen op uitnodiging <b>"}
        ) as instance,
        instance.client() as client,
    ):
        assert instance.ctx is not None
        v2 = (await client.get("/api/v2/instance")).json()["registrations"]
        assert (v2["enabled"], v2["approval_required"]) == (False, False)
        assert v2["message"] == "<p>Alleen op uitnodiging &lt;b&gt;</p>"
        assert (await client.get("/api/v1/instance")).json()["invites_enabled"] is True

        token = await app_token(client)
        once = await registration.create_invite(instance.ctx, actor="test", max_uses=1)
        expired = await registration.create_invite(
            instance.ctx, actor="test", expires_in=timedelta(seconds=1)
        )
        async with instance.ctx.db.transaction() as session:
            await session.execute(
                update(Invite)
                .where(Invite.id == expired.invite.id)
                .values(expires_at=expired.invite.created_at - timedelta(minutes=1))
            )
        assert once.url == f"{instance.base_url}/invite/{once.code}"

        no_invite = await client.post("/api/v1/accounts", data=sign_up_form("ann"), headers=bearer(token))
        assert no_invite.status_code == 403
        invited = await client.post(
            "/api/v1/accounts", data=sign_up_form("ann", invite_code=once.code), headers=bearer(token)
        )
        assert invited.status_code == 200, invited.text
        # No mail configured: nothing could confirm the address, so the account may act at once.
        me = await client.get(
            "/api/v1/accounts/verify_credentials", headers=bearer(invited.json()["access_token"])
        )
        assert me.status_code == 200
        for code, username in ((once.code, "bob"), (expired.code, "cas"), ("made-up", "dirk")):
            refused = await client.post(
                "/api/v1/accounts", data=sign_up_form(username, invite_code=code), headers=bearer(token)
            )
            assert refused.status_code == 422
            assert refused.json()["details"]["invite_code"][0]["error"] == "ERR_INVALID"


async def test_approval_mode_waits_for_staff(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async with (
        smtp_server() as mailbox,
        instance_with(tmp_path, **{"registration.mode": "approval", **mailbox.settings()}) as instance,
        instance.client() as client,
    ):
        assert instance.ctx is not None
        v2 = (await client.get("/api/v2/instance")).json()["registrations"]
        assert (v2["enabled"], v2["approval_required"], v2["reason_required"]) == (True, True, True)
        token = await app_token(client)
        no_reason = await client.post(
            "/api/v1/accounts", data=sign_up_form("gemeente"), headers=bearer(token)
        )
        assert no_reason.status_code == 422
        assert no_reason.json()["details"]["reason"][0]["error"] == "ERR_BLANK"

        created = await client.post(
            "/api/v1/accounts",
            data=sign_up_form("gemeente", reason="Wij zijn de gemeente"),
            headers=bearer(token),
        )
        assert created.status_code == 200
        user_token = created.json()["access_token"]
        await client.post(
            "/api/v1/accounts", data=sign_up_form("spammer", reason="buy now"), headers=bearer(token)
        )
        await run_jobs(instance)
        assert (
            await client.get(link_in(mailbox.to("gemeente@example.test")[0], "/auth/confirmation"))
        ).status_code == 200
        waiting = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(user_token))
        assert waiting.status_code == 403
        assert waiting.json()["error"] == "Your login is currently pending approval"

        await account_command(instance.ctx, argparse.Namespace(action="pending"))
        listed = capsys.readouterr().out
        assert "gemeente\tgemeente@example.test\tconfirmed" in listed and "Wij zijn de gemeente" in listed
        assert "spammer\tspammer@example.test\tunconfirmed" in listed

        async with instance.ctx.db.read() as session:
            gemeente_id = (
                await session.execute(select(Account.id).where(Account.username == "gemeente"))
            ).scalar_one()
        plain_user = await make_token(instance.ctx, "someone", "read write admin:read admin:write")
        assert (
            await client.post(f"/api/v1/admin/accounts/{gemeente_id}/approve", headers=bearer(plain_user))
        ).status_code == 403
        moderator = await staff_token(instance, "mod", role="moderator")
        approved = await client.post(
            f"/api/v1/admin/accounts/{gemeente_id}/approve", headers=bearer(moderator)
        )
        assert approved.status_code == 200
        entity = approved.json()
        assert (entity["username"], entity["approved"], entity["confirmed"]) == ("gemeente", True, True)
        assert entity["invite_request"] == "Wij zijn de gemeente"
        assert (
            await client.post(f"/api/v1/admin/accounts/{gemeente_id}/approve", headers=bearer(moderator))
        ).status_code == 404  # nothing waits any more
        assert (
            await client.get("/api/v1/accounts/verify_credentials", headers=bearer(user_token))
        ).status_code == 200
        await run_jobs(instance)
        welcome = mailbox.to("gemeente@example.test")[-1]
        assert welcome["Subject"].startswith("Welcome to")

        await account_command(instance.ctx, argparse.Namespace(action="reject", username="spammer"))
        assert "@spammer rejected" in capsys.readouterr().out
        async with instance.ctx.db.read() as session:
            assert (
                await session.execute(select(Account).where(Account.username == "spammer"))
            ).first() is None
            actions = [
                (entry.actor, entry.action, entry.target) for entry in await recent_audit_entries(session)
            ]
        assert actions[0][1:] == ("account.reject", "@spammer")
        assert actions[1] == ("@mod", "account.approve", "@gemeente")


async def test_bad_sign_ups_are_refused_field_by_field_then_throttled(tmp_path: Path) -> None:
    async with (
        instance_with(tmp_path, **{"registration.mode": "open"}) as instance,
        instance.client() as client,
    ):
        assert instance.ctx is not None
        token = await app_token(client)
        first = await client.post("/api/v1/accounts", data=sign_up_form("taken"), headers=bearer(token))
        assert first.status_code == 200
        cases = [
            (sign_up_form("taken", email="other@example.test"), "username", "ERR_TAKEN"),
            (sign_up_form("support"), "username", "ERR_RESERVED"),
            (sign_up_form("fresh", password="short"), "password", "ERR_TOO_SHORT"),
            (sign_up_form("fresh", agreement="false"), "agreement", "ERR_ACCEPTED"),
        ]
        for form, field, code in cases:
            refused = await client.post("/api/v1/accounts", data=form, headers=bearer(token))
            assert refused.status_code == 422, form
            assert refused.json()["details"][field][0]["error"] == code
        throttled = await client.post("/api/v1/accounts", data=sign_up_form("late"), headers=bearer(token))
        assert throttled.status_code == 429
        assert int(throttled.headers["Retry-After"]) > 0
        async with instance.ctx.db.read() as session:
            usernames = set((await session.execute(select(Account.username))).scalars())
        assert {"taken"} <= usernames and not {"support", "fresh", "late"} & usernames


async def test_mail_that_cannot_be_sent_is_retried(tmp_path: Path) -> None:
    async with smtp_server() as stopped:
        settings = stopped.settings()
    # The server is gone: nothing listens on its port any more.
    async with (
        instance_with(tmp_path, **{"registration.mode": "open", **settings}) as instance,
        instance.client() as client,
    ):
        assert instance.ctx is not None
        created = await client.post(
            "/api/v1/accounts", data=sign_up_form("patient"), headers=bearer(await app_token(client))
        )
        assert created.status_code == 200
        await run_jobs(instance)
        async with instance.ctx.db.read() as session:
            job = (await session.execute(select(Job).where(Job.queue == "mail"))).scalar_one()
        assert (job.state, job.tries) == ("pending", 1)
        assert job.last_error and "Connect" in job.last_error


async def test_mail_goes_over_starttls_with_a_login_to_a_server_of_a_private_ca(tmp_path: Path) -> None:
    authority = PrivateCA(tmp_path)
    async with (
        smtp_server(certificate=authority.issue(MAIL_HOST), login=("plein", "mail secret")) as mailbox,
        instance_with(
            tmp_path,
            **{
                "registration.mode": "open",
                **mailbox.settings(),
                "mail.security": "starttls",
                "mail.user": "plein",
                "mail.password": "mail secret",
                "mail.ca_bundle": str(authority.certificate),
            },
        ) as instance,
        instance.client() as client,
    ):
        created = await client.post(
            "/api/v1/accounts", data=sign_up_form("veilig"), headers=bearer(await app_token(client))
        )
        assert created.status_code == 200
        await run_jobs(instance)
        [message] = mailbox.to("veilig@example.test")
        assert link_in(message, "/auth/confirmation").startswith(instance.base_url)


async def test_a_server_certificate_nobody_trusts_is_not_sent_to(tmp_path: Path) -> None:
    authority = PrivateCA(tmp_path)
    async with (
        smtp_server(certificate=authority.issue(MAIL_HOST)) as mailbox,
        instance_with(
            tmp_path, **{"registration.mode": "open", **mailbox.settings(), "mail.security": "starttls"}
        ) as instance,
        instance.client() as client,
    ):
        created = await client.post(
            "/api/v1/accounts", data=sign_up_form("wacht"), headers=bearer(await app_token(client))
        )
        assert created.status_code == 200
        await run_jobs(instance)
        assert mailbox.messages == []
        assert instance.ctx is not None
        async with instance.ctx.db.read() as session:
            job = (await session.execute(select(Job).where(Job.queue == "mail"))).scalar_one()
        assert job.state == "pending" and job.last_error and "CERTIFICATE_VERIFY_FAILED" in job.last_error
