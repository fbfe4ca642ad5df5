"""Engine and transactions for SQLite (WAL, the embedded default) and PostgreSQL, from one URL.

SQLite allows one writer at a time. A transaction that starts as a reader and later writes fails at once
with SQLITE_BUSY when another writer got there first, so every write transaction starts with
`BEGIN IMMEDIATE` (it waits on `busy_timeout` instead). Reads use a second engine with plain deferred
transactions so they never queue behind writers (WAL lets readers run beside the writer).

Hot batched writes (the inbox's group commit) go through `Database.run_batch`: a synchronous function of
Core statements run as one short write transaction, on SQLite by `storage.sqlite_batch.SqliteBatchWriter`
(inline on the event loop when the write lock is free, no thread hand-offs), on PostgreSQL through the async
engine (`AsyncConnection.run_sync`), whose statements are network round trips anyway.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import orjson
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage.sqlite_batch import SqliteBatchWriter
from storage.sqlite_setup import configure_sqlite


def dialect_insert(dialect_name: str) -> Any:
    """The `insert` of the dialect, which knows `ON CONFLICT` (both SQLite and PostgreSQL spell it)."""
    return postgresql.insert if dialect_name == "postgresql" else sqlite.insert


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


# JSON columns (job payloads, activities) are on hot paths: orjson is several times faster than json.
JSON_OPTIONS: dict[str, Any] = {"json_serializer": _json_dumps, "json_deserializer": orjson.loads}


T = TypeVar("T")


def quote_identifier(name: str) -> str:
    """`name` as a quoted SQL identifier (a schema name made from a configured domain)."""
    return '"' + name.replace('"', '""') + '"'


def _sqlite_engine(url: str, begin_statement: str, pool_size: int) -> AsyncEngine:
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=0, pool_timeout=60, **JSON_OPTIONS)
    configure_sqlite(engine.sync_engine, begin_statement)
    return engine


SQLITE_READERS = 10  # reading connections of a SQLite database (a quarter as many writers wait their turn)


class Database:
    """The engines and session factories of one database; built in the lifespan, disposed at shutdown.

    On PostgreSQL the process keeps `pool_size` connections and opens up to `max_overflow` more for a
    moment (each closed again on return); SQLite keeps a fixed number (`SQLITE_READERS`)."""

    def __init__(self, url: str, *, pool_size: int = 10, max_overflow: int = 10, schema: str = "") -> None:
        self.url = url
        self.schema = schema
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        if self.is_sqlite:
            database = parsed.database or ""
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            self.write_engine = _sqlite_engine(url, "BEGIN IMMEDIATE", pool_size=1 + SQLITE_READERS // 4)
            self.read_engine = _sqlite_engine(url, "BEGIN", pool_size=SQLITE_READERS)
            self.sqlite_batch: SqliteBatchWriter | None = SqliteBatchWriter(url, JSON_OPTIONS)
        else:
            # A schema of its own (one domain of several, docs/MULTIDOMAIN.md): every connection sees only it,
            # so no query can reach another domain's rows.
            connect_args = {"server_settings": {"search_path": quote_identifier(schema)}} if schema else {}
            self.write_engine = create_async_engine(
                url,
                pool_size=pool_size,
                max_overflow=max_overflow,
                connect_args=connect_args,
                **JSON_OPTIONS,
            )
            self.read_engine = self.write_engine
            self.sqlite_batch = None
        self._write_sessions = async_sessionmaker(self.write_engine, expire_on_commit=False)
        self._read_sessions = async_sessionmaker(self.read_engine, expire_on_commit=False)

    def pool_use(self) -> dict[tuple[str, str], float]:
        """Connections of each engine's pool, by (engine, state): checked out now, and the pool's size."""
        engines = {"write": self.write_engine}
        if self.read_engine is not self.write_engine:
            engines["read"] = self.read_engine
        use: dict[tuple[str, str], float] = {}
        for name, engine in engines.items():
            pool = engine.pool
            for state, reading in (("checked_out", "checkedout"), ("size", "size")):
                read = getattr(pool, reading, None)
                if callable(read):
                    use[(name, state)] = float(read())
        return use

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A write transaction as an ORM session: committed on normal exit, rolled back on error."""
        async with self._write_sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only session (never commits)."""
        async with self._read_sessions() as session:
            yield session

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        """A Core connection in a write transaction, for batched statements on hot paths."""
        async with self.write_engine.begin() as connection:
            yield connection

    async def run_batch(self, work: Callable[[Connection], T]) -> T:
        """Run `work` (synchronous Core statements, a short batch) in one write transaction; return its result.

        Committed when `work` returns, rolled back when it raises (the error propagates). On SQLite `work`
        may run on the event loop (see the module docstring): keep it to a few statements, no I/O."""
        if self.sqlite_batch is not None:
            return await self.sqlite_batch.run(work)
        async with self.write_engine.begin() as connection:
            return await connection.run_sync(work)

    async def dispose(self) -> None:
        """Close every pooled connection."""
        if self.sqlite_batch is not None:
            await self.sqlite_batch.dispose()
        await self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            await self.read_engine.dispose()
