"""The durable job queue: rows in `jobs`, claimed with a lease.

Enqueueing is an INSERT in the caller's transaction, so the work exists exactly when the rows that caused it
do. Workers claim due jobs by setting a lease (`locked_until`); a worker that dies simply lets its lease
expire and another takes the job. On PostgreSQL the claim uses `FOR UPDATE SKIP LOCKED` so several worker
processes never take the same row; on SQLite the single writer already serialises claims.

A handler returns nothing on success and raises `RetryJob` (with a time) or `JobFailed` otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.ids import new_id
from storage.models import Job
from storage.request_ids import REQUEST_ID
from storage.types import utcnow


@dataclass(frozen=True)
class ClaimedJob:
    """A job leased to one worker."""

    id: int
    queue: str
    payload: dict[str, Any]
    tries: int  # including the current try
    host: str | None
    created_at: datetime
    request_id: str | None = None  # of the request that queued it


class RetryJob(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised by a handler: try again at `at` (recording the remote status and error)."""

    def __init__(self, at: datetime, *, status: int | None = None, error: str = "") -> None:
        super().__init__(error)
        self.at = at
        self.status = status
        self.error = error


class JobFailed(Exception):  # noqa: N818
    """Raised by a handler: the job can never succeed; keep it as failed for the record."""

    def __init__(self, error: str, *, status: int | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


def job_row(
    queue: str,
    payload: dict[str, Any],
    *,
    dedupe_key: str | None = None,
    host: str | None = None,
    priority: int = 0,
    run_at: datetime | None = None,
) -> dict[str, Any]:
    """The column values of one new job, for `enqueue_many`."""
    now = utcnow()
    return {
        "id": new_id(),
        "queue": queue,
        "payload": payload,
        "dedupe_key": dedupe_key,
        "host": host,
        "priority": priority,
        "state": "pending",
        "tries": 0,
        "next_try_at": run_at or now,
        "created_at": now,
        # The request (or the job) being served when it was queued: its logs carry the same id.
        "request_id": REQUEST_ID.get() or None,
    }


def insert_jobs(connection: Connection, rows: Iterable[dict[str, Any]]) -> int:
    """Insert jobs (`job_row`s) in the connection's transaction; rows whose (queue, dedupe_key) exists are
    skipped. Returns how many rows were inserted. Synchronous, for `Database.run_batch`; `enqueue_many` is
    the same in an async session."""
    rows = list(rows)
    if not rows:
        return 0
    dialect = connection.dialect
    if dialect.name == "sqlite":
        # The inbox's group commit runs this for every burst of deliveries. The statement is compiled once and
        # the rows converted by the columns' own bind processors, then executed by the driver in one call:
        # SQLAlchemy's per-execution work on each parameter set costs more than the insert itself. SQLite
        # sums the rows each statement changed (a skipped duplicate changes none).
        sql, processors = _sqlite_job_insert(dialect)
        parameters = [
            tuple(row[name] if process is None else process(row[name]) for name, process in processors)
            for row in rows
        ]
        return int(connection.exec_driver_sql(sql, parameters).rowcount)
    statement = postgresql.insert(Job).on_conflict_do_nothing(index_elements=["queue", "dedupe_key"])
    # asyncpg reports no row count for executemany: RETURNING counts what was really inserted.
    return len(connection.execute(statement.returning(Job.id), rows).all())


_JOB_ROW_COLUMNS = (
    "id",
    "queue",
    "payload",
    "dedupe_key",
    "host",
    "priority",
    "state",
    "tries",
    "next_try_at",
    "created_at",
    "request_id",
)


@lru_cache(maxsize=8)
def _sqlite_job_insert(dialect: Dialect) -> tuple[str, tuple[tuple[str, Callable[[Any], Any] | None], ...]]:
    """The INSERT of `job_row`s compiled for `dialect`, and each column's bind processor, in its order."""
    statement = sqlite.insert(Job).on_conflict_do_nothing(index_elements=["queue", "dedupe_key"])
    compiled = statement.compile(dialect=dialect, column_keys=list(_JOB_ROW_COLUMNS))
    assert compiled.positiontup == list(_JOB_ROW_COLUMNS)  # qmark: parameters by position
    columns = Job.__table__.columns
    processors = tuple((name, columns[name].type.bind_processor(dialect)) for name in _JOB_ROW_COLUMNS)
    return str(compiled), processors


async def enqueue_many(session: AsyncSession, rows: Iterable[dict[str, Any]]) -> int:
    """Insert jobs in the caller's transaction; rows whose (queue, dedupe_key) exists are skipped.

    Returns how many rows were inserted.
    """
    rows = list(rows)
    if not rows:
        return 0
    return await session.run_sync(lambda sync_session: insert_jobs(sync_session.connection(), rows))


async def enqueue(session: AsyncSession, queue: str, payload: dict[str, Any], **options: Any) -> bool:
    """Insert one job in the caller's transaction; False if a job with the same dedupe key exists."""
    return await enqueue_many(session, [job_row(queue, payload, **options)]) == 1


async def claim(
    db: Database,
    queue: str,
    *,
    worker_id: str,
    limit: int,
    lease: timedelta = timedelta(minutes=5),
    done: Sequence[tuple[int, int | None]] = (),
) -> list[ClaimedJob]:
    """Lease up to `limit` due jobs of `queue` to `worker_id`, highest priority and oldest first.

    `done` (job id, remote status) are successes recorded in the same transaction, before the claim: the
    batching worker's completions ride along with its next claim, one write transaction for both."""
    now = utcnow()
    due = (
        select(Job.id)
        .where(
            Job.queue == queue,
            # Redundant with the OR below, but lets the index skip finished jobs (kept until purged): without
            # it every claim walks all of the queue's history.
            Job.state.in_(("pending", "running")),
            or_(
                (Job.state == "pending") & (Job.next_try_at <= now),
                (Job.state == "running") & (Job.locked_until < now),
            ),
        )
        .order_by(Job.priority, Job.next_try_at)
        .limit(limit)
    )
    if not db.is_sqlite:
        due = due.with_for_update(skip_locked=True)
    statement = (
        update(Job)
        .where(Job.id.in_(due.scalar_subquery()))
        .values(state="running", locked_until=now + lease, locked_by=worker_id, tries=Job.tries + 1)
        .returning(Job.id, Job.queue, Job.payload, Job.tries, Job.host, Job.created_at, Job.request_id)
        .execution_options(synchronize_session=False)
    )
    async with db.transaction() as session:
        for done_statement in _done_statements(done, now):
            await session.execute(done_statement)
        rows = (await session.execute(statement)).all() if limit > 0 else []
    return [ClaimedJob(*row) for row in rows]


def _done_statements(outcomes: Sequence[tuple[int, int | None]], now: datetime) -> list[Any]:
    """One UPDATE per distinct remote status, marking those jobs done."""
    by_status: dict[int | None, list[int]] = {}
    for job_id, status in outcomes:
        by_status.setdefault(status, []).append(job_id)
    return [
        update(Job)
        .where(Job.id.in_(job_ids))
        .values(state="done", finished_at=now, locked_until=None, last_status=status, last_error=None)
        .execution_options(synchronize_session=False)
        for status, job_ids in by_status.items()
    ]


async def release(db: Database, job_ids: list[int]) -> None:
    """Give claimed jobs that were never started back to the queue, as if they had not been claimed."""
    if not job_ids:
        return
    async with db.transaction() as session:
        await session.execute(
            update(Job)
            .where(Job.id.in_(job_ids), Job.state == "running")
            .values(state="pending", locked_until=None, locked_by=None, tries=Job.tries - 1)
            .execution_options(synchronize_session=False)
        )


async def save_job_payload(session: AsyncSession, job_id: int, payload: dict[str, Any]) -> None:
    """Replace a running job's payload in the caller's transaction: a job working in several transactions
    keeps its progress there, so the next try, if this one dies, goes on from it."""
    await session.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(payload=payload)
        .execution_options(synchronize_session=False)
    )


async def mark_done(db: Database, job_id: int, *, status: int | None = None) -> None:
    """Record success."""
    async with db.transaction() as session:
        await session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(
                state="done", finished_at=utcnow(), locked_until=None, last_status=status, last_error=None
            )
        )


async def mark_done_many(db: Database, outcomes: Sequence[tuple[int, int | None]]) -> None:
    """Record many successes (job id, remote status) in one transaction: on the hot delivery path one
    write transaction per job would cost more than the delivery itself."""
    if not outcomes:
        return
    async with db.transaction() as session:
        for statement in _done_statements(outcomes, utcnow()):
            await session.execute(statement)


async def mark_retry(db: Database, job_id: int, retry: RetryJob) -> None:
    """Put a job back to wait until `retry.at`, keeping the forensic trail."""
    async with db.transaction() as session:
        await session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(
                state="pending",
                next_try_at=retry.at,
                locked_until=None,
                last_status=retry.status,
                last_error=retry.error[:2000],
            )
        )


async def mark_failed(db: Database, job_id: int, *, error: str, status: int | None = None) -> None:
    """Give up on a job for good; it stays in the table for the record."""
    async with db.transaction() as session:
        await session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(
                state="failed",
                finished_at=utcnow(),
                locked_until=None,
                last_status=status,
                last_error=error[:2000],
            )
        )


async def depth(db: Database, queue: str | None = None) -> int:
    """How many jobs are waiting or running (of one queue, or all)."""
    statement = select(func.count()).select_from(Job).where(Job.state.in_(("pending", "running")))
    if queue is not None:
        statement = statement.where(Job.queue == queue)
    async with db.read() as session:
        return int((await session.execute(statement)).scalar_one())


async def purge_finished(db: Database, *, older_than: timedelta, batch: int = 5_000) -> int:
    """Delete done jobs that finished more than `older_than` ago, `batch` rows per transaction (so the
    SQLite writer is never held for long); failed ones are kept for the record. Returns how many went."""
    cutoff = utcnow() - older_than
    purged = 0
    while True:
        due = select(Job.id).where(Job.state == "done", Job.finished_at < cutoff).limit(batch)
        async with db.transaction() as session:
            result = await session.execute(delete(Job).where(Job.id.in_(due.scalar_subquery())))
        deleted = max(result.rowcount, 0)
        purged += deleted
        if deleted < batch:
            return purged
