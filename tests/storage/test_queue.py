"""The durable queue on both backends: enqueue in the caller's transaction, dedupe, lease, retry, fail."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from storage.db import Database
from storage.models import Job
from storage.queue import JobFailed, RetryJob, claim, depth, enqueue, enqueue_many, job_row, purge_finished
from storage.types import utcnow
from storage.worker import drain


async def test_enqueue_is_part_of_the_callers_transaction(db: Database) -> None:
    class Boom(Exception):
        pass

    try:
        async with db.transaction() as session:
            await enqueue(session, "inbox", {"n": 1})
            raise Boom
    except Boom:
        pass
    assert await depth(db) == 0
    async with db.transaction() as session:
        assert await enqueue(session, "inbox", {"n": 1})
    assert await depth(db, "inbox") == 1


async def test_dedupe_key_skips_duplicates(db: Database) -> None:
    async with db.transaction() as session:
        assert await enqueue(session, "inbox", {"n": 1}, dedupe_key="https://remote.example/a/1")
        assert not await enqueue(session, "inbox", {"n": 2}, dedupe_key="https://remote.example/a/1")
        assert await enqueue(session, "deliver", {"n": 3}, dedupe_key="https://remote.example/a/1")
    assert await depth(db, "inbox") == 1


async def test_claim_leases_and_expired_lease_is_reclaimed(db: Database) -> None:
    async with db.transaction() as session:
        await enqueue(session, "inbox", {"n": 1})
    first = await claim(db, "inbox", worker_id="a", limit=10, lease=timedelta(seconds=-1))
    assert len(first) == 1 and first[0].tries == 1
    # The lease is already over (a dead worker): another worker gets the same job again.
    second = await claim(db, "inbox", worker_id="b", limit=10)
    assert [job.id for job in second] == [first[0].id] and second[0].tries == 2
    assert await claim(db, "inbox", worker_id="c", limit=10) == []


async def test_drain_records_success_retry_and_failure(db: Database) -> None:
    async with db.transaction() as session:
        for kind in ("ok", "retry", "fail", "crash"):
            await enqueue(session, "work", {"kind": kind})

    async def handler(job):  # type: ignore[no-untyped-def]
        kind = job.payload["kind"]
        if kind == "retry":
            raise RetryJob(utcnow() + timedelta(hours=1), status=503, error="busy")
        if kind == "fail":
            raise JobFailed("gone", status=410)
        if kind == "crash":
            raise ZeroDivisionError("bug")
        return 202

    assert await drain(db, {"work": handler}) == 4
    async with db.read() as session:
        jobs = {job.payload["kind"]: job for job in (await session.execute(select(Job))).scalars()}
    assert (jobs["ok"].state, jobs["ok"].last_status) == ("done", 202)
    assert (jobs["retry"].state, jobs["retry"].last_status, jobs["retry"].last_error) == (
        "pending",
        503,
        "busy",
    )
    assert jobs["retry"].next_try_at > utcnow() + timedelta(minutes=59)
    assert (jobs["fail"].state, jobs["fail"].last_status) == ("failed", 410)
    assert jobs["crash"].state == "failed" and "ZeroDivisionError" in (jobs["crash"].last_error or "")
    assert await depth(db, "work") == 1  # only the retry is still waiting


async def test_purge_keeps_recent_done_jobs_and_every_failed_one(db: Database) -> None:
    async with db.transaction() as session:
        await enqueue_many(session, [job_row("work", {"n": n}, dedupe_key=f"k{n}") for n in range(7)])
    async with db.read() as session:
        ids = sorted((await session.execute(select(Job.id))).scalars())
    old, recent = utcnow() - timedelta(days=3), utcnow() - timedelta(hours=1)
    async with db.transaction() as session:
        await session.execute(update(Job).where(Job.id.in_(ids[:3])).values(state="done", finished_at=old))
        await session.execute(update(Job).where(Job.id == ids[3]).values(state="done", finished_at=recent))
        await session.execute(update(Job).where(Job.id == ids[4]).values(state="failed", finished_at=old))
    # Two rows per transaction: the purge goes round until a round finds fewer.
    assert await purge_finished(db, older_than=timedelta(days=2), batch=2) == 3
    async with db.read() as session:
        left = sorted((await session.execute(select(Job.id))).scalars())
    assert left == ids[3:]
    assert await purge_finished(db, older_than=timedelta(days=2)) == 0
