"""Heartbeats of worker processes, on both backends: the running jobs of a holder that is silent (or never
beat) go back to `pending` long before their lease ends, wherever it ran; a live holder's stay leased; a
clean stop removes the process's row, and rows silent for a day are forgotten."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from sqlalchemy import select, update

from storage.db import Database
from storage.models import Job, WorkerProcess
from storage.queue import claim, enqueue
from storage.recovery import beat, release_jobs_of_silent_workers
from storage.types import utcnow
from storage.worker import WorkerHeartbeat, worker_name


async def _states(db: Database) -> dict[str, tuple[str, str | None]]:
    async with db.read() as session:
        rows = await session.execute(select(Job.payload, Job.state, Job.locked_by))
        return {payload["holder"]: (state, locked_by) for payload, state, locked_by in rows}


async def test_jobs_of_silent_holders_go_back_and_live_ones_stay(db: Database) -> None:
    holders = ("other-host:7", "silent-host:8", "live-host:9")
    async with db.transaction() as session:
        for holder in holders:
            await enqueue(session, "deliver", {"holder": holder})
    for holder in holders:  # each claims one job with the usual five-minute lease
        assert len(await claim(db, "deliver", worker_id=holder, limit=1)) == 1
    await beat(db, "live-host:9")
    await beat(db, "silent-host:8")
    await beat(db, "forgotten-host:1")
    async with db.transaction() as session:
        await session.execute(
            update(WorkerProcess)
            .where(WorkerProcess.name == "silent-host:8")
            .values(seen_at=utcnow() - timedelta(minutes=2))
        )
        await session.execute(
            update(WorkerProcess)
            .where(WorkerProcess.name == "forgotten-host:1")
            .values(seen_at=utcnow() - timedelta(days=2))
        )

    released = await release_jobs_of_silent_workers(db, silent_for=timedelta(seconds=60))

    assert released == 2
    assert await _states(db) == {
        "other-host:7": ("pending", None),  # never beat: a process of an older release, or of none
        "silent-host:8": ("pending", None),
        "live-host:9": ("running", "live-host:9"),
    }
    async with db.read() as session:
        names = set((await session.execute(select(WorkerProcess.name))).scalars())
    assert names == {"live-host:9", "silent-host:8"}
    # Another worker now takes the two jobs back at once, without waiting five minutes.
    taken = await claim(db, "deliver", worker_id="live-host:9", limit=10)
    assert sorted(job.payload["holder"] for job in taken) == ["other-host:7", "silent-host:8"]


async def test_the_heartbeat_keeps_its_own_jobs_and_leaves_on_a_clean_stop(db: Database) -> None:
    async with db.transaction() as session:
        await enqueue(session, "deliver", {"holder": "us"})
    heartbeat = WorkerHeartbeat(db, every=0.05, silent_for=timedelta(seconds=60))
    assert len(await claim(db, "deliver", worker_id=heartbeat.name, limit=1)) == 1
    task = asyncio.create_task(heartbeat.run())
    await asyncio.sleep(0.3)  # several rounds
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert await _states(db) == {"us": ("running", worker_name())}
    async with db.read() as session:
        assert await session.get(WorkerProcess, heartbeat.name) is not None
    await heartbeat.stop()
    async with db.read() as session:
        assert await session.get(WorkerProcess, heartbeat.name) is None
