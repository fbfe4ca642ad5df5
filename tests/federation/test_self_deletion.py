"""Deleting one's own account through the client API (GoToSocial's `POST /api/v1/accounts/delete`): the
password again, the account disabled at once (tokens revoked, logins refused, profile hidden, posts out of
feeds), deleted for good by a durable job when the grace period ends — its `Delete` then reaches the peer —
unless an admin calls it off first (`plein account cancel-deletion`)."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select, update

from outbox.actions import cancel_account_deletion, follow, post_status
from outbox.actions.account_deletion import ACCOUNTS_QUEUE
from outbox.errors import Unprocessable
from storage.models import Account, AuditEntry, HomeFeedEntry, Job
from storage.types import utcnow
from support.federation import Instance, settle
from support.oauth import bearer, form_fields, make_token, make_user, register_app

PASSWORD = "correct horse battery staple"


async def _login(instance: Instance, username: str) -> bool:
    """Whether `username` can sign in through the OAuth authorization form (a code comes back)."""
    async with instance.running.client() as client:
        app = await register_app(client, redirect_uri="https://app.example/cb")
        page = await client.get(
            "/oauth/authorize",
            params={"client_id": app.client_id, "redirect_uri": app.redirect_uri, "scope": "read"},
        )
        answer = await client.post(
            "/oauth/authorize",
            data={
                **form_fields(page.text),
                "username": username,
                "password": PASSWORD,
                "decision": "approve",
            },
            follow_redirects=False,
        )
    return answer.status_code == 302 and "code=" in answer.headers.get("location", "")


async def test_self_deletion_disables_at_once_and_deletes_after_the_grace_period(
    trio: tuple[Instance, Instance, Instance],
) -> None:
    a, b, _ = trio
    alice = await make_user(a.ctx, "alice", PASSWORD)
    dave = await a.local("dave")
    bob = await b.local("bob")
    assert await _login(a, "alice")
    token = await make_token(a.ctx, "alice")
    alice_on_b = await b.resolve(alice, a)
    await follow(b.ctx, bob, alice_on_b)
    await follow(a.ctx, dave, alice)
    await settle(a, b)
    post = await post_status(a.ctx, alice, text="Leaving soon")
    await settle(a, b)
    assert await a.count(HomeFeedEntry, HomeFeedEntry.account_id == dave.id) == 1

    async with httpx.AsyncClient(base_url=a.running.base_url) as http:
        missing = await http.post("/api/v1/accounts/delete", headers=bearer(token))
        wrong = await http.post("/api/v1/accounts/delete", headers=bearer(token), data={"password": "nope"})
        unauthenticated = await http.post("/api/v1/accounts/delete", data={"password": PASSWORD})
        assert (missing.status_code, wrong.status_code, unauthenticated.status_code) == (400, 403, 401)
        assert missing.json()["error"] and wrong.json()["error"]
        assert await a.count(Account, Account.deletion_due_at.is_not(None)) == 0  # nothing changed

        accepted = await http.post(
            "/api/v1/accounts/delete", headers=bearer(token), json={"password": PASSWORD}
        )
        assert accepted.status_code == 202, accepted.text
        assert accepted.json()["message"] == "accepted"
        # Disabled at once: the token is dead, a new login refused, the profile hidden, posts out of feeds.
        me = await http.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
        profile = await http.get("/@alice")
        again = await http.post("/api/v1/accounts/delete", headers=bearer(token), json={"password": PASSWORD})
    assert me.status_code == 401 and profile.status_code == 404 and again.status_code == 401
    assert not await _login(a, "alice")
    assert await a.count(HomeFeedEntry, HomeFeedEntry.account_id == dave.id) == 0
    async with a.ctx.db.read() as session:
        account = await session.get(Account, alice.id)
        assert account is not None and account.suspended_at is not None and account.gone_at is None
        assert account.deletion_due_at is not None
        assert timedelta(days=29) < account.deletion_due_at - utcnow() <= timedelta(days=30)
        [job] = (await session.execute(select(Job).where(Job.queue == ACCOUNTS_QUEUE))).scalars()
        assert job.next_try_at == account.deletion_due_at
    await settle(a, b)  # not due: nothing happens
    assert (await a.account(alice.uri)).gone_at is None  # type: ignore[union-attr]
    assert (await b.account(alice.uri)).gone_at is None  # type: ignore[union-attr]

    # The grace period ends (its time is moved, not waited for): the job deletes the account for good.
    past = utcnow() - timedelta(seconds=1)
    async with a.ctx.db.transaction() as session:
        await session.execute(update(Account).where(Account.id == alice.id).values(deletion_due_at=past))
        await session.execute(update(Job).where(Job.queue == ACCOUNTS_QUEUE).values(next_try_at=past))
    await settle(a, b)
    gone = await a.account(alice.uri)
    assert gone is not None and gone.gone_at is not None and gone.deletion_due_at is None
    copy = await b.account(alice.uri)
    assert copy is not None and copy.gone_at is not None
    copy_of_post = await b.status(post.uri)
    assert copy_of_post is not None and copy_of_post.deleted_at is not None
    async with a.ctx.db.read() as session:
        actions = list((await session.execute(select(AuditEntry.action).order_by(AuditEntry.id))).scalars())
    assert actions == ["account.deletion_requested", "account.delete"]


async def test_an_admin_calls_the_deletion_off(trio: tuple[Instance, Instance, Instance]) -> None:
    a, _, _ = trio
    await make_user(a.ctx, "erin", PASSWORD)
    token = await make_token(a.ctx, "erin")
    async with httpx.AsyncClient(base_url=a.running.base_url) as http:
        accepted = await http.post(
            "/api/v1/accounts/delete", headers=bearer(token), data={"password": PASSWORD}
        )
    assert accepted.status_code == 202
    assert not await _login(a, "erin")
    await cancel_account_deletion(a.ctx, "erin", actor="cli:test")
    erin = await a.account(f"{a.running.base_url}/users/erin")
    assert erin is not None and erin.suspended_at is None and erin.deletion_due_at is None
    assert await _login(a, "erin")  # enabled again
    async with a.ctx.db.transaction() as session:  # the pending job finds nothing to do, even when run
        await session.execute(update(Job).where(Job.queue == ACCOUNTS_QUEUE).values(next_try_at=utcnow()))
    await settle(a)
    erin = await a.account(erin.uri)
    assert erin is not None and erin.gone_at is None
    try:
        await cancel_account_deletion(a.ctx, "erin", actor="cli:test")
    except Unprocessable:
        pass
    else:
        raise AssertionError("nothing to call off")
