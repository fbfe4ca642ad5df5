"""How every SQLite connection of Plein is set up: WAL, its pragmas, and BEGIN issued by us, not the driver."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event

__all__ = ["SQLITE_PRAGMAS", "configure_sqlite"]

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=30000",
    "PRAGMA cache_size=-65536",
)


def configure_sqlite(engine: Engine, begin_statement: str, pragmas: tuple[str, ...] = SQLITE_PRAGMAS) -> None:
    """Run `pragmas` on each new connection of `engine` and start its transactions with `begin_statement`
    (`BEGIN IMMEDIATE` for writers, so they wait for the lock up front instead of failing midway)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN away from the driver so we can choose IMMEDIATE or DEFERRED ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in pragmas:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin_statement)
