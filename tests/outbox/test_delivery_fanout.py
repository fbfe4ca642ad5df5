"""A fan-out through the real queue worker (concurrent jobs, claims ahead, batched host-state reads) to many
inbox servers: every inbox gets the post once, a paused host is respected, healthy hosts cost no writes."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from outbox.actions import post_status
from outbox.deliver import delivery_handler
from outbox.fan_out import fan_out_handler
from storage.context import Context
from storage.deliveries import DELIVER_QUEUE, FAN_OUT_QUEUE
from storage.models import Account, DeliveryHost, Follow, Job
from storage.types import utcnow
from storage.worker import QueueWorker
from support.farm import Farm, inbox_farm
from support.outbox_helpers import trust_local_account

FOLLOWERS = 60
SERVERS = 12


async def _followers(ctx: Context, farm: Farm, target: Account) -> None:
    async with ctx.db.transaction() as session:
        followers = [
            Account(
                username=f"f{index}",
                domain=farm.inbox(index).split("/")[2],
                uri=farm.inbox(index).removesuffix("/inbox"),
                inbox_url=farm.inbox(index),
            )
            for index in range(FOLLOWERS)
        ]
        session.add_all(followers)
        await session.flush()
        session.add_all(Follow(account_id=follower.id, target_account_id=target.id) for follower in followers)


async def _job_states(ctx: Context) -> Counter[str]:
    async with ctx.db.read() as session:
        return Counter((await session.scalars(select(Job.state).where(Job.queue == DELIVER_QUEUE))).all())


async def test_fan_out_through_the_worker_reaches_every_inbox_once(http_ctx, make_local):  # type: ignore[no-untyped-def]
    ctx = http_ctx
    alice = await make_local("alice")
    async with inbox_farm(servers=SERVERS) as farm:
        await trust_local_account(farm, ctx, alice)
        await _followers(ctx, farm, alice)
        paused_host = farm.inbox(0).split("/")[2]
        async with ctx.db.transaction() as session:
            session.add(
                DeliveryHost(
                    host=paused_host, consecutive_failures=9, paused_until=utcnow() + timedelta(hours=1)
                )
            )
        await post_status(ctx, alice, text="hello, many hosts")
        workers = [
            QueueWorker(ctx.db, FAN_OUT_QUEUE, fan_out_handler(ctx)),
            QueueWorker(ctx.db, DELIVER_QUEUE, delivery_handler(ctx), concurrency=4, prefetch=8),
        ]
        runners = [asyncio.create_task(worker.run()) for worker in workers]
        expected = FOLLOWERS - FOLLOWERS // SERVERS  # every inbox but those of the paused host
        while farm.deliveries() < expected or (await _job_states(ctx))["running"]:
            await asyncio.sleep(0.02)
        for worker, runner in zip(workers, runners, strict=True):
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
            await worker.stop()
    assert farm.refused == []
    assert sorted(farm.received) == sorted(
        farm.inbox(index) for index in range(FOLLOWERS) if index % SERVERS != 0
    )
    assert all(len(activity_ids) == 1 for activity_ids in farm.received.values())
    assert await _job_states(ctx) == Counter({"done": expected, "pending": FOLLOWERS // SERVERS})
    async with ctx.db.read() as session:
        recorded = (await session.scalars(select(DeliveryHost.host))).all()
    assert recorded == [paused_host]  # healthy hosts cost no write
