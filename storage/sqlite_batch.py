"""Short batched write transactions on SQLite without a thread hand-off per statement (`Database.run_batch`).

Through aiosqlite every statement costs about four hand-offs between the event loop and the driver's thread
(cursor, execute, fetch, close), ~100 µs each on a small VM, and a thread running SQLAlchemy code competes for
the GIL with the event loop. A batch of Core statements that takes a millisecond of CPU is cheaper run where
it is: `SqliteBatchWriter.run` runs it on the event loop, on a synchronous pysqlite connection whose busy
timeout is zero, so it never waits for the write lock there. When another connection holds the lock (the
worker's claims, a client's post, another process), `BEGIN IMMEDIATE` fails at once and the batch runs instead
on a dedicated writer thread with its own connection, which waits for the lock like every other writer.

The inline connection never checkpoints the WAL itself (a checkpoint copies pages and syncs: no work for the
event loop); every `CHECKPOINT_EVERY` inline commits a passive checkpoint runs on the writer thread.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from storage.sqlite_setup import SQLITE_PRAGMAS, configure_sqlite

__all__ = ["SqliteBatchWriter"]

T = TypeVar("T")
CHECKPOINT_EVERY = 64


def _sync_engine(
    url: str, pragmas: tuple[str, ...], json_options: dict[str, Any], *, any_thread: bool = False
) -> Engine:
    engine = create_engine(
        make_url(url).set(drivername="sqlite+pysqlite"),
        pool_size=1,
        max_overflow=0,
        connect_args={"check_same_thread": not any_thread},
        **json_options,
    )
    configure_sqlite(engine, "BEGIN IMMEDIATE", pragmas)
    return engine


def _is_busy(error: OperationalError) -> bool:
    return (
        isinstance(error.orig, sqlite3.OperationalError)
        and error.orig.sqlite_errorcode == sqlite3.SQLITE_BUSY
    )


class SqliteBatchWriter:
    """Runs synchronous write batches inline when the write lock is free, else on a writer thread."""

    def __init__(self, url: str, json_options: dict[str, Any]) -> None:
        # Later pragmas win: no waiting and no checkpoints on the event loop.
        inline_pragmas = (*SQLITE_PRAGMAS, "PRAGMA busy_timeout=0", "PRAGMA wal_autocheckpoint=0")
        # Used only synchronously, one batch at a time, but by whichever thread runs the event loop.
        self.inline_engine = _sync_engine(url, inline_pragmas, json_options, any_thread=True)
        # Kept open between batches: a pool checkout and its reset cost as much as a small batch's insert.
        self._inline_connection: Connection | None = None
        self.thread_engine = _sync_engine(url, SQLITE_PRAGMAS, json_options)
        self.thread = ThreadPoolExecutor(1, "sqlite-writer")
        self.inline_commits = 0
        self.inline_runs = 0  # for tests and benchmarks: how many batches ran inline
        self.thread_runs = 0

    async def run(self, work: Callable[[Connection], T]) -> T:
        """Run `work` in one write transaction: committed when it returns, rolled back when it raises."""
        connection = self._inline_connection
        if connection is None:
            connection = self._inline_connection = self.inline_engine.connect()
        try:
            transaction = connection.begin()
        except OperationalError as error:
            self._close_inline()  # a fresh connection next time: no state left from the failed BEGIN
            if not _is_busy(error):
                raise
        else:
            try:
                result = work(connection)
            except BaseException:
                try:
                    transaction.rollback()
                finally:
                    self._close_inline()
                raise
            transaction.commit()
            self.inline_runs += 1
            self._count_commit()
            return result
        self.thread_runs += 1
        return await asyncio.get_running_loop().run_in_executor(self.thread, self._run_in_thread, work)

    def _run_in_thread(self, work: Callable[[Connection], T]) -> T:
        with self.thread_engine.begin() as connection:
            return work(connection)

    def _count_commit(self) -> None:
        self.inline_commits += 1
        if self.inline_commits % CHECKPOINT_EVERY == 0:
            self.thread.submit(self._checkpoint)

    def _checkpoint(self) -> None:
        # On the DBAPI connection: a SQLAlchemy Connection would wrap the pragma in BEGIN IMMEDIATE.
        connection = self.thread_engine.raw_connection()
        try:
            connection.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            connection.close()

    def _close_inline(self) -> None:
        connection, self._inline_connection = self._inline_connection, None
        if connection is not None:
            connection.close()

    async def dispose(self) -> None:
        """Close both connections (a pysqlite connection only from the thread that opened it)."""
        self._close_inline()
        self.inline_engine.dispose()
        await asyncio.get_running_loop().run_in_executor(self.thread, self.thread_engine.dispose)
