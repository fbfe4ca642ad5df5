"""Which database errors are transient: the database was away, full or busy for a moment, and the same work
tried again later succeeds. The one decision shared by the job worker (retry later, never fail the job) and
the HTTP layer (answer 503 with Retry-After, which remote servers and clients retry).

Transient: a connection lost or refused (SQLAlchemy marks it `connection_invalidated`; DBAPI `InterfaceError`;
PostgreSQL SQLSTATE class 08), too many clients (53300), the server shutting down or starting up (57P01,
57P02, 57P03), a serialization failure or deadlock (40001, 40P01), no pooled connection free in time
(SQLAlchemy's pool `TimeoutError`), SQLite's "database is locked" (SQLITE_BUSY / SQLITE_LOCKED). Anything
else (a constraint violated, a syntax error, a bug) is not: trying it again would fail the same way.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import asyncpg
from sqlalchemy import exc as sa_exc

__all__ = ["DATABASE_ERRORS", "is_transient", "transient_cause"]

TRANSIENT_SQLSTATES = frozenset({"53300", "57P01", "57P02", "57P03", "40001", "40P01"})
TRANSIENT_SQLSTATE_CLASSES = ("08",)  # connection exception
SQLITE_BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})

# What a database error can be raised as, for the HTTP layer's handler: SQLAlchemy's wrappers, and the
# drivers' own errors where they escape unwrapped (the SQLite batch writer, a connect refused by the OS).
DATABASE_ERRORS: tuple[type[Exception], ...] = (
    sa_exc.SQLAlchemyError,
    sqlite3.Error,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    ConnectionError,
)
# The drivers' "connection is gone" errors, as raised outside SQLAlchemy (asyncpg's connection closed midway).
INTERFACE_ERRORS = (sqlite3.InterfaceError, asyncpg.InterfaceError)


def _chain(error: BaseException) -> Iterator[BaseException]:
    """`error`, the driver error SQLAlchemy wrapped (`orig`), and what each was raised from, once each."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for linked in (getattr(current, "orig", None), current.__cause__, current.__context__):
            if isinstance(linked, BaseException):
                pending.append(linked)


def _sqlstate(error: BaseException) -> str | None:
    # asyncpg and SQLAlchemy's asyncpg adapter say `sqlstate`, psycopg says `pgcode`.
    code = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    return code if isinstance(code, str) else None


def transient_cause(error: BaseException) -> str | None:
    """Why `error` is transient, in a few words for the logs; None when it is not."""
    for current in _chain(error):
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return "database connection lost"
        if isinstance(current, sa_exc.TimeoutError):
            return "no database connection free in time"
        if isinstance(current, sa_exc.DisconnectionError | sa_exc.InterfaceError):
            return "database connection lost"
        code = _sqlstate(current)
        if code is not None and (code in TRANSIENT_SQLSTATES or code.startswith(TRANSIENT_SQLSTATE_CLASSES)):
            return f"database unavailable (SQLSTATE {code})"
        if isinstance(current, INTERFACE_ERRORS):
            return "database connection lost"
        if isinstance(current, sqlite3.OperationalError):
            errorcode = getattr(current, "sqlite_errorcode", None)
            if errorcode in SQLITE_BUSY_CODES or "database is locked" in str(current):
                return "database is locked"
        if isinstance(current, ConnectionError):  # the database's socket refused or reset
            return "database connection lost"
    return None


def is_transient(error: BaseException) -> bool:
    """Whether `error` is a database error that goes away by itself: the work should be tried again later
    (a job retried with backoff, a request answered 503), never given up on."""
    return transient_cause(error) is not None
