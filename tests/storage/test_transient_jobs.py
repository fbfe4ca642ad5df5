"""A job whose handler meets a transient database error is retried later, never failed; and when even the
retry cannot be recorded (the database is away), the job stays leased and runs again once its lease ends."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import select, text

from storage.db import Database
from storage.migrate import migrate
from storage.models import Job
from storage.queue import ClaimedJob, claim, enqueue
from storage.transient import is_transient
from storage.types import utcnow
from storage.worker import drain, run_one
from support.databases import POSTGRES_DSN, postgres_database, sqlite_url


class _DriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"driver error {sqlstate}")
        self.sqlstate = sqlstate


def _wrapped(sqlstate: str) -> sa_exc.DBAPIError:
    return sa_exc.DBAPIError("SELECT 1", None, _DriverError(sqlstate))


@pytest.mark.parametrize("sqlstate", ["08006", "08001", "53300", "57P01", "57P02", "57P03", "40001", "40P01"])
def test_transient_sqlstates(sqlstate: str) -> None:
    assert is_transient(_wrapped(sqlstate))


@pytest.mark.parametrize("sqlstate", ["23505", "42601", "22P02", "53100"])
def test_other_sqlstates_are_not_transient(sqlstate: str) -> None:
    assert not is_transient(_wrapped(sqlstate))


def test_transient_kinds_besides_sqlstates() -> None:
    assert is_transient(sa_exc.TimeoutError("QueuePool limit of size 1 overflow 0 reached"))
    assert is_transient(sa_exc.DBAPIError("SELECT 1", None, ValueError("x"), connection_invalidated=True))
    assert is_transient(sa_exc.InterfaceError("SELECT 1", None, ValueError("closed")))
    assert is_transient(
        sa_exc.OperationalError("INSERT", None, sqlite3.OperationalError("database is locked"))
    )
    assert is_transient(asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"))
    try:
        raise RuntimeError("while storing") from _wrapped("57P01")
    except RuntimeError as error:  # a cause further down the chain counts too
        assert is_transient(error)
    assert not is_transient(sa_exc.IntegrityError("INSERT", None, ValueError("duplicate key")))
    assert not is_transient(ZeroDivisionError("bug"))


@pytest.fixture
async def postgres_db() -> AsyncIterator[tuple[Database, str]]:
    """A migrated PostgreSQL database and its name."""
    async with postgres_database() as url:
        database = Database(url, pool_size=2, max_overflow=0)
        await migrate(database)
        try:
            yield database, url.rsplit("/", 1)[1]
        finally:
            await database.dispose()


async def _only_job(db: Database) -> Job:
    async with db.read() as session:
        return (await session.execute(select(Job))).scalar_one()


async def test_a_handler_whose_connection_is_terminated_is_retried_later(
    postgres_db: tuple[Database, str], caplog: pytest.LogCaptureFixture
) -> None:
    db, _ = postgres_db
    async with db.transaction() as session:
        await enqueue(session, "inbox", {"activity": {"id": "https://remote.example/a/1"}})
    admin = await asyncpg.connect(POSTGRES_DSN)
    ran: list[int] = []

    async def handler(job: ClaimedJob) -> None:
        ran.append(job.id)
        async with db.transaction() as session:
            pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            # The administrator (or a failover) ends our backend while the handler is working.
            assert await admin.fetchval("SELECT pg_terminate_backend($1, 10000)", pid)
            await session.execute(text("SELECT 1"))

    try:
        with caplog.at_level(logging.WARNING, logger="storage.worker"):
            assert await drain(db, {"inbox": handler}) == 1
    finally:
        await admin.close()
    job = await _only_job(db)
    assert job.state == "pending" and job.finished_at is None
    assert job.next_try_at > utcnow() and job.last_error and "database" in job.last_error
    assert any(
        str(ran[0]) in record.getMessage() and "retried" in record.getMessage() for record in caplog.records
    )


async def test_a_job_whose_retry_cannot_be_recorded_runs_again_when_its_lease_ends(
    postgres_db: tuple[Database, str],
) -> None:
    db, name = postgres_db
    async with db.transaction() as session:
        await enqueue(session, "inbox", {"activity": {"id": "https://remote.example/a/2"}})
    admin = await asyncpg.connect(POSTGRES_DSN)
    # The lease is already over when the handler ends: as if five minutes had passed.
    [job] = await claim(db, "inbox", worker_id="w", limit=1, lease=timedelta(seconds=-1))

    async def handler(job: ClaimedJob) -> None:
        async with db.transaction() as session:
            await session.execute(text("SELECT 1"))
            # The database goes away altogether: our connections end and no new one is let in.
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            await admin.execute(
                "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE datname = $1", name
            )
            await session.execute(text("SELECT 1"))

    try:
        await run_one(db, handler, job)  # never raises, though neither the handler nor the record worked
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    finally:
        await admin.close()
    assert (await _only_job(db)).state == "running"  # still leased: nothing recorded, nothing lost
    again = await claim(db, "inbox", worker_id="w2", limit=1)
    assert [(claimed.id, claimed.tries) for claimed in again] == [(job.id, 2)]


async def test_a_locked_sqlite_database_retries_the_job(tmp_path: Path) -> None:
    url = sqlite_url(str(tmp_path))
    db = Database(url)
    await migrate(db)
    try:
        async with db.transaction() as session:
            await enqueue(session, "inbox", {"activity": {"id": "https://remote.example/a/3"}})

        async def handler(job: ClaimedJob) -> None:
            holder = sqlite3.connect(tmp_path / "plein.db", isolation_level=None)
            writer = sqlite3.connect(tmp_path / "plein.db", timeout=0, isolation_level=None)
            try:
                holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
                writer.execute("BEGIN IMMEDIATE")  # database is locked
            finally:
                holder.close()
                writer.close()

        assert await drain(db, {"inbox": handler}) == 1
        job = await _only_job(db)
        assert job.state == "pending" and "locked" in (job.last_error or "")
    finally:
        await db.dispose()
