"""A post to many remote followers: its transaction writes one `fan_out` job and no delivery; the job expands
into one delivery per distinct inbox, which the delivery worker sends (a suspended host gets none); a job
that died midway runs again without queueing any inbox twice."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from apub.client import FederationClient
from apub.httpsig import SchemeMemory
from outbox.actions import delete_status, post_status
from outbox.addressing import PRIORITY_FOLLOWERS
from outbox.fan_out import expand_fan_out, fan_out_handler
from plein.jobs import job_handlers
from storage.context import Context
from storage.db import Database
from storage.deliveries import DELIVER_QUEUE, FAN_OUT_QUEUE
from storage.domains import BlockTerms, FederationGate, block_domain
from storage.models import Account, Follow, Job
from storage.queue import ClaimedJob, claim, release
from storage.worker import drain
from support.farm import Farm, inbox_farm
from support.instance import make_settings
from support.outbox_helpers import jobs_of, trust_local_account

HOSTS = 6
FOLLOWERS_PER_HOST = 4
BLOCKED = 2  # the host index suspended before the post (its follows still stand, as if the block raced it)
PERSONAL = 5  # the host index whose followers have no shared inbox


async def _follow_from_farm(ctx: Context, farm: Farm, target: Account) -> None:
    """`FOLLOWERS_PER_HOST` followers on each of the farm's hosts, with the host's shared inbox (but on host
    `PERSONAL`)."""
    async with ctx.db.transaction() as session:
        followers = [
            Account(
                username=f"f{index}",
                domain=farm.inbox(index).split("/")[2],
                uri=farm.inbox(index).removesuffix("/inbox"),
                inbox_url=farm.inbox(index),
                shared_inbox_url=None if index % HOSTS == PERSONAL else farm.shared_inbox(index),
            )
            for index in range(HOSTS * FOLLOWERS_PER_HOST)
        ]
        session.add_all(followers)
        await session.flush()
        session.add_all(Follow(account_id=follower.id, target_account_id=target.id) for follower in followers)


@pytest.fixture
async def gated_ctx(db: Database, tmp_path: Path) -> Context:
    """A Context whose federation client has the real outbound gate, and may reach loopback servers."""
    settings = make_settings(
        tmp_path,
        **{
            "instance.domain": "plein.example",
            "instance.base_url": "https://plein.example",
            "database.url": db.url,
        },
    )
    return Context(
        settings=settings,
        db=db,
        http=FederationClient(
            allow_private_addresses=["127.0.0.0/8"],
            total_timeout=10,
            host_gate=FederationGate(db, allowlist_mode=False),
        ),
        scheme_memory=SchemeMemory(),
    )


async def test_a_post_writes_one_fan_out_job_and_reaches_each_inbox_once(gated_ctx, make_local):  # type: ignore[no-untyped-def]
    ctx = gated_ctx
    alice = await make_local("alice")
    try:
        async with inbox_farm(servers=HOSTS) as farm:
            await trust_local_account(farm, ctx, alice)
            await _follow_from_farm(ctx, farm, alice)
            blocked_host = farm.inbox(BLOCKED).split("/")[2]
            async with ctx.db.transaction() as session:
                await block_domain(session, blocked_host, BlockTerms(severity="suspend"))

            status = await post_status(ctx, alice, text="to every server at once")

            assert await jobs_of(ctx, DELIVER_QUEUE) == []
            [fan_out] = await jobs_of(ctx, FAN_OUT_QUEUE)
            assert fan_out.payload["followers_of"] == alice.id
            await drain(ctx.db, job_handlers(ctx))
            assert farm.refused == []
            personal = [farm.inbox(i) for i in range(HOSTS * FOLLOWERS_PER_HOST) if i % HOSTS == PERSONAL]
            shared = [farm.shared_inbox(i) for i in range(HOSTS) if i not in (BLOCKED, PERSONAL)]
            assert sorted(farm.received) == sorted(shared + personal)
            assert {url: len(ids) for url, ids in farm.received.items()} == dict.fromkeys(farm.received, 1)
            assert {ids[0] for ids in farm.received.values()} == {f"{status.uri}/activity"}
    finally:
        assert ctx.http is not None
        await ctx.http.aclose()
    deliveries = await jobs_of(ctx, DELIVER_QUEUE)
    assert Counter(job.payload["inbox"] for job in deliveries) == Counter(
        [*shared, *personal, farm.shared_inbox(BLOCKED)]
    )
    states = {job.payload["inbox"]: (job.state, job.last_error or "") for job in deliveries}
    state, error = states.pop(farm.shared_inbox(BLOCKED))
    assert state == "failed" and "not federated with" in error  # queued, then refused at send time
    assert {state for state, _ in states.values()} == {"done"}
    assert {job.priority for job in deliveries} == {PRIORITY_FOLLOWERS}
    assert [job.state for job in await jobs_of(ctx, FAN_OUT_QUEUE)] == ["done"]


class _Killed(Exception):
    """The worker process dying between two pages."""


async def test_a_fan_out_that_died_midway_queues_no_inbox_twice(ctx, make_local):  # type: ignore[no-untyped-def]
    alice = await make_local("alice")
    hosts = 7
    async with ctx.db.transaction() as session:
        followers = [  # three followers behind each shared inbox, so one inbox recurs across pages
            Account(
                username=f"f{index}",
                domain=f"h{index % hosts}.example",
                uri=f"https://h{index % hosts}.example/users/f{index}",
                inbox_url=f"https://h{index % hosts}.example/users/f{index}/inbox",
                shared_inbox_url=f"https://h{index % hosts}.example/inbox",
            )
            for index in range(3 * hosts)
        ]
        session.add_all(followers)
        await session.flush()
        session.add_all(Follow(account_id=follower.id, target_account_id=alice.id) for follower in followers)
    status = await post_status(ctx, alice, text="hello")
    await delete_status(ctx, alice, status.id)  # its Delete goes to the same followers: a second job
    fan_outs = await jobs_of(ctx, FAN_OUT_QUEUE)
    assert len(fan_outs) == 2 and await jobs_of(ctx, DELIVER_QUEUE) == []

    [job] = await claim(ctx.db, FAN_OUT_QUEUE, worker_id="doomed", limit=1)
    pages: list[int] = []

    def die_after_first_page(queued: int) -> None:
        pages.append(queued)
        raise _Killed

    with pytest.raises(_Killed):
        await expand_fan_out(ctx.db, job, page_size=5, after_page=die_after_first_page)
    first = await jobs_of(ctx, DELIVER_QUEUE)
    assert len(first) == pages[0] and 0 < pages[0] < hosts
    async with ctx.db.read() as session:
        saved = await session.get(Job, job.id)
    assert saved is not None and saved.payload["after"] > 0  # the cursor committed with the page

    await release(ctx.db, [fan_out.id for fan_out in fan_outs])  # what the heartbeat does for a dead worker
    await drain(ctx.db, {FAN_OUT_QUEUE: fan_out_handler(ctx)})
    deliveries = await jobs_of(ctx, DELIVER_QUEUE)
    per_activity = Counter((job.payload["activity_id"], job.payload["inbox"]) for job in deliveries)
    assert set(per_activity.values()) == {1}
    assert len(per_activity) == 2 * hosts  # each shared inbox once, for the Create and the Delete
    assert {job.state for job in await jobs_of(ctx, FAN_OUT_QUEUE)} == {"done"}

    # Even with its cursor lost, running the job again from the start queues nothing.
    async with ctx.db.transaction() as session:
        again = await session.get(Job, job.id)
        assert again is not None
        again.payload = {**again.payload, "after": 0}
    [rerun] = await claim_again(ctx, job.id)
    assert await expand_fan_out(ctx.db, rerun, page_size=5) == 0
    assert len(await jobs_of(ctx, DELIVER_QUEUE)) == 2 * hosts


async def claim_again(ctx: Context, job_id: int) -> list[ClaimedJob]:
    """Put a finished job back and claim it, as a second run of the same job."""
    async with ctx.db.transaction() as session:
        job = await session.get(Job, job_id)
        assert job is not None
        job.state = "pending"
    claimed = await claim(ctx.db, FAN_OUT_QUEUE, worker_id="again", limit=10)
    return [job for job in claimed if job.id == job_id]


async def test_a_followers_fan_out_reads_no_follow_of_another_account(ctx, make_local):  # type: ignore[no-untyped-def]
    alice, bob = await make_local("alice"), await make_local("bob")
    async with ctx.db.transaction() as session:
        remote = Account(
            username="r", domain="r.example", uri="https://r.example/users/r", inbox_url="https://r.example/i"
        )
        session.add(remote)
        await session.flush()
        session.add(Follow(account_id=remote.id, target_account_id=bob.id))
    await post_status(ctx, alice, text="nobody remote follows me")
    await drain(ctx.db, {FAN_OUT_QUEUE: fan_out_handler(ctx)})
    assert await jobs_of(ctx, DELIVER_QUEUE) == []
    async with ctx.db.read() as session:
        states = (await session.scalars(select(Job.state).where(Job.queue == FAN_OUT_QUEUE))).all()
    assert states == ["done"]
