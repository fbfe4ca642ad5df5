"""The delivery worker against real inbox servers on loopback: signatures, outcomes, retries, breaker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from apub.httpsig.knock import CAVAGE, RFC9421
from outbox.actions import follow, post_status
from outbox.deliver import BREAKER_THRESHOLD, backoff, retry_after
from plein.jobs import job_handlers
from storage.context import Context
from storage.delivery_hosts import load_host
from storage.models import Account, DeliveryHost, Follow, Job
from storage.types import utcnow
from storage.worker import drain
from support.outbox_helpers import InboxFarm, delivery_jobs, inbox_farm, trust_local_account


async def _remote_follower(
    ctx: Context, farm: InboxFarm, name: str, target: Account, *, shared: bool = False
) -> Account:
    uri = f"{farm.base_url}/users/{name}"
    async with ctx.db.transaction() as session:
        account = Account(
            username=name,
            domain=farm.base_url.removeprefix("http://"),
            uri=uri,
            inbox_url=f"{uri}/inbox",
            shared_inbox_url=f"{farm.base_url}/inbox" if shared else None,
        )
        session.add(account)
        await session.flush()
        session.add(Follow(account_id=account.id, target_account_id=target.id))
    return account


async def _run(ctx: Context) -> None:
    await drain(ctx.db, job_handlers(ctx))


async def _job(ctx: Context) -> Job:
    [job] = await delivery_jobs(ctx)
    return job


async def _make_due(ctx: Context) -> None:
    async with ctx.db.transaction() as session:
        await session.execute(update(Job).values(next_try_at=utcnow() - timedelta(seconds=1)))


async def test_post_is_delivered_signed_to_each_inbox(http_ctx, make_local):
    ctx = http_ctx
    alice = await make_local("alice")
    async with inbox_farm() as farm:
        await trust_local_account(farm, ctx, alice)
        await _remote_follower(ctx, farm, "one", alice)
        await _remote_follower(ctx, farm, "two", alice)
        status = await post_status(ctx, alice, text="hello remote")
        await _run(ctx)
    assert sorted(delivery.path for delivery in farm.received) == ["/users/one/inbox", "/users/two/inbox"]
    for delivery in farm.received:
        assert delivery.error is None and delivery.signer == alice.uri
        assert delivery.body["type"] == "Create" and delivery.body["object"]["id"] == status.uri
    jobs = await delivery_jobs(ctx)
    assert {(job.state, job.last_status, job.tries) for job in jobs} == {("done", 202, 1)}


async def test_gone_inbox_marks_the_actor_gone_and_stops(http_ctx, make_local):
    ctx = http_ctx
    alice = await make_local("alice")
    async with inbox_farm() as farm:
        await trust_local_account(farm, ctx, alice)
        gone = await _remote_follower(ctx, farm, "gone", alice)
        farm.responses["/users/gone/inbox"] = (410, {})
        await post_status(ctx, alice, text="anyone there?")
        await _run(ctx)
        job = await _job(ctx)
        assert (job.state, job.last_status) == ("failed", 410)
        async with ctx.db.read() as session:
            assert (await session.get(Account, gone.id)).gone_at is not None
        await post_status(ctx, alice, text="second post")
        assert len(await delivery_jobs(ctx)) == 1  # no job for a gone actor


# 30 digits once overflowed the timedelta and failed the delivery for good: now capped at a day.
@pytest.mark.parametrize(("header", "wait"), [("120", timedelta(seconds=120)), ("9" * 30, timedelta(days=1))])
async def test_too_many_requests_waits_for_retry_after(http_ctx, make_local, header, wait):
    ctx = http_ctx
    alice = await make_local("alice")
    async with inbox_farm() as farm:
        await trust_local_account(farm, ctx, alice)
        await _remote_follower(ctx, farm, "busy", alice)
        farm.responses["/users/busy/inbox"] = (429, {"Retry-After": header})
        before = utcnow()
        await post_status(ctx, alice, text="hi")
        await _run(ctx)
        job = await _job(ctx)
        assert (job.state, job.last_status, job.tries) == ("pending", 429, 1)
        assert (
            before + wait - timedelta(seconds=1) <= job.next_try_at <= utcnow() + wait + timedelta(seconds=1)
        )
        farm.responses.clear()
        await _make_due(ctx)
        await _run(ctx)
        job = await _job(ctx)
        assert (job.state, job.last_status, job.tries) == ("done", 202, 2)


async def test_client_error_is_final(http_ctx, make_local):
    ctx = http_ctx
    alice = await make_local("alice")
    async with inbox_farm() as farm:
        await trust_local_account(farm, ctx, alice)
        await _remote_follower(ctx, farm, "picky", alice)
        farm.responses["/users/picky/inbox"] = (422, {})
        await post_status(ctx, alice, text="hi")
        await _run(ctx)
    job = await _job(ctx)
    assert (job.state, job.last_status, job.tries) == ("failed", 422, 1)
    assert job.last_error.startswith("HTTP 422")


async def test_server_errors_back_off_then_the_breaker_pauses_the_host(http_ctx, make_local):
    ctx = http_ctx
    alice = await make_local("alice")
    async with inbox_farm() as farm:
        await trust_local_account(farm, ctx, alice)
        await _remote_follower(ctx, farm, "flaky", alice)
        farm.responses["/users/flaky/inbox"] = (500, {})
        await post_status(ctx, alice, text="hi")
        await _run(ctx)
        job = await _job(ctx)
        assert (job.state, job.last_status) == ("pending", 500)
        assert job.next_try_at > utcnow() + timedelta(seconds=10)
        for _ in range(BREAKER_THRESHOLD - 1):
            await _make_due(ctx)
            await _run(ctx)
        host = farm.base_url.removeprefix("http://")
        state = await load_host(ctx.db, host)
        assert state.consecutive_failures == BREAKER_THRESHOLD and state.paused_until > utcnow()
        sent = len(farm.received)
        await _make_due(ctx)
        await _run(ctx)
        assert len(farm.received) == sent  # paused: not hammered
        job = await _job(ctx)
        assert job.state == "pending" and "paused" in job.last_error
        # The pause ends, the host recovers: the breaker closes on the first success.
        async with ctx.db.transaction() as session:
            await session.execute(update(Job).values(next_try_at=utcnow()))
        async with ctx.db.transaction() as session:
            await session.execute(update(DeliveryHost).values(paused_until=utcnow() - timedelta(seconds=1)))
        ctx.caches["outbox.deliver"].forget_host_states()
        farm.responses.clear()
        await _run(ctx)
        assert (await _job(ctx)).state == "done"
        assert (await load_host(ctx.db, host)).consecutive_failures == 0


async def test_network_errors_retry_and_give_up_after_three_days(http_ctx, make_local):
    ctx = http_ctx
    alice = await make_local("alice")
    async with inbox_farm() as farm:
        await _remote_follower(ctx, farm, "vanished", alice)
    # the server is gone: connections are refused
    await post_status(ctx, alice, text="hi")
    await _run(ctx)
    job = await _job(ctx)
    assert job.state == "pending" and job.last_status is None and job.last_error
    async with ctx.db.transaction() as session:
        await session.execute(
            update(Job).values(next_try_at=utcnow(), created_at=utcnow() - timedelta(days=3, minutes=1))
        )
    await _run(ctx)
    job = await _job(ctx)
    assert job.state == "failed" and job.last_error.startswith("gave up after 2 tries")


async def test_local_followers_get_rows_not_http(http_ctx, make_local):
    ctx = http_ctx
    alice, bob = await make_local("alice"), await make_local("bob")
    await follow(ctx, bob, alice)
    await post_status(ctx, alice, text="local only")
    assert await delivery_jobs(ctx) == []


def test_backoff_grows_with_jitter_and_is_capped():
    assert timedelta(seconds=22) <= backoff(1) <= timedelta(seconds=38)
    assert timedelta(seconds=45) <= backoff(2) <= timedelta(seconds=75)
    assert backoff(40) <= timedelta(hours=7.5)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", timedelta(seconds=120)),
        ("Wed, 21 Oct 2026 07:30:00 GMT", timedelta(minutes=30)),
        ("999999999", timedelta(days=1)),
        ("9" * 30, timedelta(days=1)),
        ("²", None),
        ("١٢٠", None),
        ("soon", None),
        (None, None),
    ],
)
def test_retry_after_parsing(header, expected):
    now = datetime(2026, 10, 21, 7, 0, tzinfo=UTC)
    assert retry_after(header, now) == expected


async def test_a_remembered_scheme_that_is_refused_is_dropped_and_the_other_knocked_at_once(
    http_ctx, make_local
):
    ctx = http_ctx
    alice = await make_local("alice")
    async with inbox_farm() as farm:
        await trust_local_account(farm, ctx, alice)
        await _remote_follower(ctx, farm, "old", alice)
        farm.refused_scheme = "rfc9421"  # e.g. a server that lost RFC 9421 support after an upgrade
        handlers = job_handlers(ctx)
        ctx.caches["outbox.deliver"].scheme_memory.remember(farm.base_url.removeprefix("http://"), RFC9421)
        await post_status(ctx, alice, text="hi")
        await drain(ctx.db, handlers)
    assert [delivery.scheme for delivery in farm.received] == ["rfc9421", "cavage"]  # one job, one try
    assert (await _job(ctx)).state == "done"
    assert ctx.scheme_memory.get(farm.base_url.removeprefix("http://")) == CAVAGE
