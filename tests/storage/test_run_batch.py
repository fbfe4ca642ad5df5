"""`Database.run_batch` on both backends, and how SQLite runs a batch: inline on the event loop when the write
lock is free, on the writer thread when another connection holds it (never blocking the loop)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import Connection, func, select, text

from storage.db import Database
from storage.migrate import migrate
from storage.models import Job
from storage.queue import insert_jobs, job_row


async def _job_count(db: Database) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(Job)) or 0)


async def test_batch_commits_and_counts_inserted_jobs(db: Database) -> None:
    rows = [job_row("work", {"n": n}, dedupe_key=f"k{n}") for n in range(5)]
    assert await db.run_batch(lambda connection: insert_jobs(connection, rows)) == 5
    again = [job_row("work", {"n": n}, dedupe_key=f"k{n}") for n in range(3, 8)]  # k3, k4 exist
    assert await db.run_batch(lambda connection: insert_jobs(connection, again)) == 3
    assert await _job_count(db) == 8


async def test_a_failing_batch_leaves_nothing(db: Database) -> None:
    def insert_then_fail(connection: Connection) -> None:
        insert_jobs(connection, [job_row("work", {"n": 1}, dedupe_key="doomed")])
        raise RuntimeError("the batch fails after its first statement")

    with pytest.raises(RuntimeError):
        await db.run_batch(insert_then_fail)
    assert await _job_count(db) == 0
    assert await db.run_batch(lambda connection: insert_jobs(connection, [job_row("work", {})])) == 1


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> Database:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'batch.db'}")
    await migrate(db)
    yield db  # type: ignore[misc]
    await db.dispose()


async def test_sqlite_batch_runs_inline_when_the_lock_is_free(sqlite_db: Database) -> None:
    writer = sqlite_db.sqlite_batch
    assert writer is not None
    await sqlite_db.run_batch(lambda connection: insert_jobs(connection, [job_row("work", {})]))
    assert (writer.inline_runs, writer.thread_runs) == (1, 0)


async def test_sqlite_batch_waits_on_the_writer_thread_while_another_connection_writes(
    sqlite_db: Database, tmp_path: Path
) -> None:
    writer = sqlite_db.sqlite_batch
    assert writer is not None
    other = sqlite3.connect(tmp_path / "batch.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    batch = asyncio.create_task(
        sqlite_db.run_batch(lambda connection: insert_jobs(connection, [job_row("work", {"n": 1})]))
    )
    # The event loop is not blocked: this sleep returns while the batch waits for the lock.
    await asyncio.sleep(0.2)
    assert not batch.done()
    other.execute("COMMIT")
    other.close()
    assert await asyncio.wait_for(batch, 10) == 1
    assert (writer.inline_runs, writer.thread_runs) == (0, 1)
    assert await _job_count(sqlite_db) == 1
    # Free again: the next batch runs inline.
    await sqlite_db.run_batch(lambda connection: insert_jobs(connection, [job_row("work", {"n": 2})]))
    assert writer.inline_runs == 1


async def test_sqlite_inline_commits_leave_checkpoints_to_the_writer_thread(sqlite_db: Database) -> None:
    from storage.sqlite_batch import CHECKPOINT_EVERY

    writer = sqlite_db.sqlite_batch
    assert writer is not None
    checkpoint_threads: list[str] = []
    checkpoint = writer._checkpoint

    def counted_checkpoint() -> None:
        checkpoint_threads.append(threading.current_thread().name)
        checkpoint()

    writer._checkpoint = counted_checkpoint  # type: ignore[method-assign]
    with sqlite3.connect(sqlite_db.url.split("///", 1)[1]) as probe:
        assert probe.execute("PRAGMA wal_autocheckpoint").fetchone()[0] > 0  # other connections do
    for n in range(CHECKPOINT_EVERY - 1):
        await sqlite_db.run_batch(lambda connection, n=n: connection.execute(text("SELECT :n"), {"n": n}))
    assert checkpoint_threads == []
    await sqlite_db.run_batch(lambda connection: connection.execute(text("SELECT 1")))
    # Queued on the writer thread; anything queued after it runs once it is done.
    await asyncio.get_running_loop().run_in_executor(writer.thread, lambda: None)
    assert len(checkpoint_threads) == 1 and checkpoint_threads[0].startswith("sqlite-writer")
    inline = writer._inline_connection  # kept open between batches
    assert inline is not None
    assert inline.connection.driver_connection.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0


async def test_inserted_jobs_read_back_as_they_were_made(db: Database) -> None:
    row = job_row("work", {"activity": {"id": "https://x.example/1", "n": [1, 2]}}, dedupe_key="k", host="x")
    await db.run_batch(lambda connection: insert_jobs(connection, [row]))
    async with db.read() as session:
        job = await session.get(Job, row["id"])
    assert job is not None
    for name, value in row.items():
        assert getattr(job, name) == value, name
    # Due now, so a claim takes it.
    from storage.queue import claim

    claimed = await claim(db, "work", worker_id="test", limit=5)
    assert [job.id for job in claimed] == [row["id"]]
