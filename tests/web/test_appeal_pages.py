"""Appeals through the real pages and the Mastodon API, as Mastodon's: the warned account reads its warning
(`/web/disputes`, linked from the notification), appeals it once within 20 days with a text of at most 2,000
characters (CSRF, only its own warning, bad input 422 and nothing stored); moderators see the waiting appeals
(the list, the index, the account page) and approve — the measure lifted, the warning overruled — or reject;
the account is notified (web page; mail when configured) and the `moderation_warning`'s `appeal` shows the
state; every step is audited. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

import moderation
from plein.jobs import job_handlers
from storage.models import Account, AccountWarning, Appeal, AuditEntry
from storage.types import utcnow
from storage.worker import drain
from support.instance import RunningInstance, make_settings, serve_in_process
from support.mailbox import Mailbox, body_of, smtp_server
from support.oauth import bearer, make_token
from support.openapi import validate_entity
from support.staff import make_staff
from support.web import PASSWORD, post_form, web_login

MAIL_HOST = "127.0.23.25"  # this helper's loopback range


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


async def _warning_entities(http: httpx.AsyncClient, token: str) -> list[dict[str, object]]:
    """The `moderation_warning` entities of the account's notifications (and every type listed)."""
    listed = await http.get("/api/v1/notifications", headers=bearer(token))
    assert listed.status_code == 200
    types = {notification["type"] for notification in listed.json()}
    assert types <= {"moderation_warning"}, types  # the decisions' notifications are the web's only
    return [notification["moderation_warning"] for notification in listed.json()]


async def test_appeal_approved_lifts_the_limit_and_tells_the_account(
    instance_on_each_backend: RunningInstance, mailbox: Mailbox
) -> None:
    instance = instance_on_each_backend
    ctx = instance.ctx
    assert ctx is not None
    await make_staff(instance, "mo", "moderator")
    await make_staff(instance, "boss", "admin")
    clerk = await make_staff(instance, "clerk")
    await make_staff(instance, "bob")
    clerk_token = await make_token(ctx, "clerk")
    account_page = f"/web/admin/accounts/{clerk.id}"
    async with (
        instance.client() as staff,
        instance.client() as clerk_browser,
        instance.client() as bob_browser,
        instance.client() as http,
    ):
        await web_login(staff, "mo", PASSWORD)
        await web_login(clerk_browser, "clerk", PASSWORD)
        await web_login(bob_browser, "bob", PASSWORD)
        limited = await post_form(
            staff,
            account_page,
            f"{account_page}/action",
            {"action": "silence", "note": "Te veel reclame.", "tell": "1", "send_email": "1"},
        )
        assert limited.status_code == 303
        async with ctx.db.read() as session:
            warning = (await session.execute(select(AccountWarning))).scalar_one()
        dispute = f"/web/disputes/{warning.id}"
        notifications = await clerk_browser.get("/web/notifications")
        assert f'href="{dispute}"' in notifications.text
        listing = await clerk_browser.get("/web/disputes")
        assert listing.status_code == 200 and f'href="{dispute}"' in listing.text
        [entity] = await _warning_entities(http, clerk_token)
        assert entity["appeal"] is None

        # Bad input: nothing stored, the page answers 422 with the text kept and the reason.
        page = await clerk_browser.get(dispute)
        assert page.status_code == 200 and 'name="text"' in page.text and "Te veel reclame." in page.text
        blank = await post_form(clerk_browser, dispute, f"{dispute}/appeal", {"text": "   "})
        assert blank.status_code == 422 and "Schrijf waarom" in blank.text
        long_text = "x" * 2001
        too_long = await post_form(clerk_browser, dispute, f"{dispute}/appeal", {"text": long_text})
        assert too_long.status_code == 422 and "te lang" in too_long.text and long_text in too_long.text
        no_token = await clerk_browser.post(f"{dispute}/appeal", data={"text": "zonder formulier"})
        assert no_token.status_code == 403
        # Only the warned account appeals its warning, or sees it.
        assert (await bob_browser.get(dispute)).status_code == 404
        not_bobs = await post_form(bob_browser, "/web/disputes", f"{dispute}/appeal", {"text": "ik ook"})
        assert not_bobs.status_code == 403
        assert await _count(instance, Appeal) == 0

        sent = await post_form(clerk_browser, dispute, f"{dispute}/appeal", {"text": "Ik verkocht niets."})
        assert (sent.status_code, sent.headers["location"]) == (303, f"{dispute}?done=appealed")
        again = await post_form(clerk_browser, "/web/disputes", f"{dispute}/appeal", {"text": "Nog eens."})
        assert again.status_code == 422 and "al bezwaar" in again.text
        assert await _count(instance, Appeal) == 1
        [entity] = await _warning_entities(http, clerk_token)
        assert entity["appeal"] == {"text": "Ik verkocht niets.", "state": "pending"}
        validate_entity("AccountWarning", entity)
        mo_token = bearer(await make_token(ctx, "mo", scopes="read write admin:read admin:write"))
        admin_entity = (await http.get(f"/api/v1/admin/accounts/{clerk.id}", headers=mo_token)).json()
        validate_entity("AdminAccount", admin_entity, all_properties=True)
        [waiting_appeal] = admin_entity["pending_appeals"]
        assert waiting_appeal["text"] == "Ik verkocht niets." and waiting_appeal["state"] == "pending"
        assert (waiting_appeal["account_warning_id"], waiting_appeal["action"]) == (
            str(warning.id),
            "silence",
        )

        # The moderators see it waiting: the index, the list, the account page. Users do not.
        assert "1 wachtend" in (await staff.get("/web/admin")).text
        waiting = await staff.get("/web/admin/appeals")
        assert "Ik verkocht niets." in waiting.text and 'value="approve"' in waiting.text
        assert "Ik verkocht niets." in (await staff.get(account_page)).text
        assert (await bob_browser.get("/web/admin/appeals")).status_code == 403
        decide = f"/web/admin/appeals/{(await _appeal(instance)).id}/decide"
        by_bob = await post_form(bob_browser, "/web/disputes", decide, {"decision": "approve"})
        assert by_bob.status_code == 403
        odd = await post_form(staff, "/web/admin/appeals", decide, {"decision": "maybe"})
        assert odd.status_code == 400

        approved = await post_form(staff, account_page, decide, {"decision": "approve", "back": "account"})
        assert (approved.status_code, approved.headers["location"]) == (
            303,
            f"{account_page}?done=appeal_approve",
        )
        twice = await post_form(staff, "/web/admin/appeals", decide, {"decision": "reject"})
        assert twice.status_code == 422
        assert "Er wachten geen bezwaren." in (await staff.get("/web/admin/appeals")).text

        told = await clerk_browser.get("/web/notifications")
        assert "De moderatoren hebben uw bezwaar toegewezen" in told.text
        assert "Toegewezen: het besluit is herroepen." in (await clerk_browser.get(dispute)).text
        [entity] = await _warning_entities(http, clerk_token)
        assert entity["appeal"] == {"text": "Ik verkocht niets.", "state": "approved"}
        listed = (await http.get("/api/v1/admin/accounts?local=true", headers=mo_token)).json()
        assert all(shown["pending_appeals"] == [] for shown in listed)

    async with ctx.db.read() as session:
        account = await session.get(Account, clerk.id)
        overruled = await session.get(AccountWarning, warning.id)
        audit = list((await session.execute(select(AuditEntry).order_by(AuditEntry.id))).scalars())
    assert account is not None and account.silenced_at is None  # the limit is lifted
    assert overruled is not None and overruled.overruled_at is not None
    trail = [(entry.actor, entry.action) for entry in audit if entry.action.startswith("appeal.")]
    assert trail == [("@clerk", "appeal.create"), ("@mo", "appeal.approve")]
    assert audit[-1].details["undone"] == "unsilence"

    await drain(ctx.db, job_handlers(ctx))
    received = mailbox.to("clerk@example.test")  # the warning's and the decision's, in either order
    [decided] = [message for message in received if "toegewezen" in message["Subject"]]
    assert f"/web/disputes/{warning.id}" in body_of(decided)
    assert len(received) == 2 and any("Te veel reclame." in body_of(message) for message in received)
    # The new appeal was mailed to the staff (moderators and admins), as Mastodon's AppealService does,
    # and to no one else.
    for staff_address in ("mo@example.test", "boss@example.test"):
        [told] = mailbox.to(staff_address)
        assert "Een nieuw bezwaar" in told["Subject"]
        assert "@clerk" in body_of(told) and "Ik verkocht niets." in body_of(told)
        assert "/web/admin/appeals" in body_of(told)
    assert mailbox.to("bob@example.test") == []


async def _appeal(instance: RunningInstance) -> Appeal:
    assert instance.ctx is not None
    async with instance.ctx.db.read() as session:
        return (await session.execute(select(Appeal).order_by(Appeal.id.desc()).limit(1))).scalar_one()


async def test_rejected_late_and_suspended_appeals(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    ctx = instance.ctx
    assert ctx is not None
    await make_staff(instance, "mo", "moderator")
    boss = await make_staff(instance, "boss", "admin")
    clerk = await make_staff(instance, "clerk")
    telling = moderation.Telling(tell=True)
    await moderation.moderate_account(ctx, clerk.id, "none", actor="@mo", text="Eerste", telling=telling)
    await moderation.moderate_account(ctx, clerk.id, "none", actor="@mo", text="Oud", telling=telling)
    async with ctx.db.transaction() as session:
        first, old = (await session.execute(select(AccountWarning).order_by(AccountWarning.id))).scalars()
        old.created_at = utcnow() - timedelta(days=21)
    async with instance.client() as staff, instance.client() as clerk_browser:
        await web_login(staff, "mo", PASSWORD)
        await web_login(clerk_browser, "clerk", PASSWORD)
        late = f"/web/disputes/{old.id}"
        shown = await clerk_browser.get(late)
        assert 'name="text"' not in shown.text and "binnen 20 dagen" in shown.text
        refused = await post_form(clerk_browser, late, f"{late}/appeal", {"text": "Te laat?"})
        assert refused.status_code == 422 and await _count(instance, Appeal) == 0

        made = f"/web/disputes/{first.id}"
        assert (
            await post_form(clerk_browser, made, f"{made}/appeal", {"text": "Onterecht"})
        ).status_code == 303
        decide = f"/web/admin/appeals/{(await _appeal(instance)).id}/decide"
        rejected = await post_form(staff, "/web/admin/appeals", decide, {"decision": "reject"})
        assert (rejected.status_code, rejected.headers["location"]) == (303, "/web/admin/appeals?done=reject")
        assert (
            "De moderatoren hebben uw bezwaar afgewezen"
            in (await clerk_browser.get("/web/notifications")).text
        )
        assert "Afgewezen: het besluit blijft staan." in (await clerk_browser.get(made)).text

        # A suspended account's appeal (made in its restricted session: test_restricted_session.py) is decided
        # on the web, and approving it lifts the suspension. A moderator cannot decide an admin's.
        await moderation.moderate_account(ctx, clerk.id, "suspend", actor="@mo", text="Weg", telling=telling)
        await moderation.moderate_account(
            ctx, boss.id, "silence", actor="@root", text="Stil", telling=telling
        )
        async with ctx.db.read() as session:
            suspension, silence = (
                await session.execute(
                    select(AccountWarning)
                    .where(AccountWarning.action.in_(("suspend", "silence")))
                    .order_by(AccountWarning.id)
                )
            ).scalars()
            clerk_now = await session.get(Account, clerk.id)
            boss_now = await session.get(Account, boss.id)
        assert clerk_now is not None and boss_now is not None
        appeal = await moderation.appeal_warning(ctx, suspension.id, clerk_now, "Vergissing")
        boss_appeal = await moderation.appeal_warning(ctx, silence.id, boss_now, "Ik ben de baas")
        lifted = await post_form(
            staff, "/web/admin/appeals", f"/web/admin/appeals/{appeal.id}/decide", {"decision": "approve"}
        )
        assert lifted.status_code == 303
        mine = await post_form(
            staff,
            "/web/admin/appeals",
            f"/web/admin/appeals/{boss_appeal.id}/decide",
            {"decision": "approve"},
        )
        assert mine.status_code == 403
    async with ctx.db.read() as session:
        clerk_after = await session.get(Account, clerk.id)
        boss_after = await session.get(Account, boss.id)
        decided = await session.get(Appeal, appeal.id)
        waiting = await session.get(Appeal, boss_appeal.id)
    assert clerk_after is not None and clerk_after.suspended_at is None
    assert decided is not None and decided.approved_at is not None
    assert boss_after is not None and boss_after.silenced_at is not None
    assert waiting is not None and waiting.approved_at is None and waiting.rejected_at is None
