"""QueueWorker on both backends: claims ahead in batches, completions ride along with claims, unstarted jobs
are given back on stop, and claims skip the queue's finished history."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter

from sqlalchemy import select

from storage.db import Database
from storage.models import Job
from storage.queue import ClaimedJob, claim, enqueue_many, job_row, mark_done_many, release
from storage.worker import QueueWorker


async def _enqueue(db: Database, count: int, queue: str = "work") -> None:
    async with db.transaction() as session:
        await enqueue_many(session, [job_row(queue, {"n": n}) for n in range(count)])


async def _states(db: Database) -> Counter[tuple[str, int]]:
    async with db.read() as session:
        rows = (await session.execute(select(Job.state, Job.tries))).all()
    return Counter((state, tries) for state, tries in rows)


async def test_worker_runs_every_job_once_and_records_it(db: Database) -> None:
    await _enqueue(db, 150)
    seen: Counter[int] = Counter()
    all_ran = asyncio.Event()

    async def handler(job: ClaimedJob) -> int:
        seen[job.payload["n"]] += 1
        await asyncio.sleep(0)
        if len(seen) == 150:
            all_ran.set()
        return 202

    worker = QueueWorker(db, "work", handler, concurrency=4, prefetch=12, poll_interval=0.05)
    runner = asyncio.create_task(worker.run())
    await all_ran.wait()
    runner.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await runner
    await worker.stop()
    assert seen == Counter(range(150))
    assert await _states(db) == Counter({("done", 1): 150})


async def test_stop_gives_back_claimed_jobs_that_never_started(db: Database) -> None:
    await _enqueue(db, 20)
    started: list[int] = []
    two_started = asyncio.Event()
    finish = asyncio.Event()

    async def handler(job: ClaimedJob) -> int:
        started.append(job.payload["n"])
        if len(started) == 2:
            two_started.set()
        await finish.wait()
        return 202

    worker = QueueWorker(db, "work", handler, concurrency=2, prefetch=4)
    runner = asyncio.create_task(worker.run())
    await two_started.wait()
    runner.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await runner
    stopping = asyncio.create_task(worker.stop())
    await asyncio.sleep(0)
    finish.set()
    await stopping
    assert len(started) == 2
    # 2 ran, 4 more were claimed ahead and are pending again as if never claimed, 14 were never claimed.
    assert await _states(db) == Counter({("done", 1): 2, ("pending", 0): 18})


async def test_claim_records_completions_in_the_same_transaction(db: Database) -> None:
    await _enqueue(db, 6)
    first = await claim(db, "work", worker_id="w", limit=3)
    second = await claim(db, "work", worker_id="w", limit=3, done=[(job.id, 202) for job in first])
    assert {job.id for job in second}.isdisjoint(job.id for job in first)
    assert await _states(db) == Counter({("done", 1): 3, ("running", 1): 3})
    await release(db, [job.id for job in second])
    assert await _states(db) == Counter({("done", 1): 3, ("pending", 0): 3})


async def test_finished_history_does_not_slow_or_change_claims(db: Database) -> None:
    await _enqueue(db, 50, queue="deliver")
    finished = await claim(db, "deliver", worker_id="w", limit=50)
    await mark_done_many(db, [(job.id, 202) for job in finished])
    await _enqueue(db, 5, queue="deliver")
    fresh = await claim(db, "deliver", worker_id="w", limit=10)
    assert len(fresh) == 5 and all(job.tries == 1 for job in fresh)
    async with db.read() as session:
        connection = await session.connection()
        if db.is_sqlite:
            plan = " ".join(
                str(row)
                for row in await connection.exec_driver_sql(
                    "EXPLAIN QUERY PLAN SELECT id FROM jobs WHERE queue = 'deliver' "
                    "AND state IN ('pending', 'running') AND (state = 'pending' OR locked_until < 0)"
                )
            )
            assert "queue=? AND state=?" in plan


async def test_worker_awaits_its_pace_before_each_claim(db: Database) -> None:
    await _enqueue(db, 3)
    gate = asyncio.Event()
    paced = 0
    ran: list[int] = []

    async def pace() -> None:
        nonlocal paced
        paced += 1
        await gate.wait()

    async def handler(job: ClaimedJob) -> None:
        ran.append(job.payload["n"])

    worker = QueueWorker(db, "work", handler, concurrency=4, poll_interval=0.05, pace=pace)
    task = asyncio.create_task(worker.run())
    try:
        await asyncio.sleep(0.2)
        assert paced == 1 and ran == []  # held at the gate: nothing claimed
        assert await _states(db) == Counter({("pending", 0): 3})
        gate.set()
        for _ in range(100):
            if len(ran) == 3:
                break
            await asyncio.sleep(0.02)
        assert sorted(ran) == [0, 1, 2]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await worker.stop()


async def test_purger_removes_old_done_jobs_as_it_starts(db: Database) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from storage.types import utcnow
    from storage.worker import FinishedJobPurger

    await _enqueue(db, 2)
    async with db.read() as session:
        first, second = sorted((await session.execute(select(Job.id))).scalars())
    async with db.transaction() as session:
        await session.execute(
            update(Job).where(Job.id == first).values(state="done", finished_at=utcnow() - timedelta(days=3))
        )
    purger = FinishedJobPurger(db, keep=timedelta(days=2), every=3600)
    task = asyncio.create_task(purger.run())
    try:
        for _ in range(100):
            if await _states(db) == Counter({("pending", 0): 1}):
                break
            await asyncio.sleep(0.02)
        assert await _states(db) == Counter({("pending", 0): 1})
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await purger.stop()


async def test_jobs_stuck_on_slow_remotes_give_their_slot_back(db: Database) -> None:
    """Deliveries to hosts that never answer hold a slot until their deadline (30 s); past `slot_timeout`
    they stop counting against the concurrency (up to `lingering` of them), so one percent of dead hosts in a
    fan-out does not stall the deliveries to the others."""
    await _enqueue(db, 40)
    stuck = asyncio.Event()  # never set before the quick jobs are all done
    quick_done: set[int] = set()
    all_quick = asyncio.Event()
    slow = {0, 1, 2}  # as many stuck jobs as the worker has slots

    async def handler(job: ClaimedJob) -> int:
        number = job.payload["n"]
        if number in slow:
            await stuck.wait()
        else:
            quick_done.add(number)
            if len(quick_done) == 40 - len(slow):
                all_quick.set()
        return 202

    worker = QueueWorker(
        db, "work", handler, concurrency=3, prefetch=6, poll_interval=0.05, slot_timeout=0.05, lingering=3
    )
    runner = asyncio.create_task(worker.run())
    await asyncio.wait_for(all_quick.wait(), 60)  # without slot_timeout: never, the three slots stay stuck
    assert not stuck.is_set()
    stuck.set()
    runner.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await runner
    await worker.stop()
    assert await _states(db) == Counter({("done", 1): 40})


async def test_lingering_jobs_are_capped(db: Database) -> None:
    """Beyond `lingering` stuck jobs, further stuck ones keep their slots: a dead network does not turn into
    an unbounded number of open requests."""
    await _enqueue(db, 10)
    stuck = asyncio.Event()
    started: set[int] = set()
    four_started = asyncio.Event()

    async def handler(job: ClaimedJob) -> int:
        started.add(job.payload["n"])
        if len(started) == 4:
            four_started.set()
        await stuck.wait()
        return 202

    worker = QueueWorker(
        db, "work", handler, concurrency=2, prefetch=8, poll_interval=0.05, slot_timeout=0.05, lingering=2
    )
    runner = asyncio.create_task(worker.run())
    await asyncio.wait_for(four_started.wait(), 60)
    for _ in range(20):  # many slot timeouts' worth: still two slots and two lingering, no more
        await asyncio.sleep(0.05)
    assert len(started) == 4
    stuck.set()
    runner.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await runner
    await worker.stop()
    states = await _states(db)
    assert sum(count for (state, _), count in states.items() if state == "done") == len(started)
