"""Fresh databases for tests: a SQLite file in a temporary folder, or a new PostgreSQL database on the local
server (127.0.0.1:5432, trust auth) created for the test run and dropped afterwards."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import AsyncIterator

import asyncpg

POSTGRES_DSN = os.environ.get("PLEIN_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def sqlite_url(folder: str) -> str:
    return f"sqlite+aiosqlite:///{folder}/plein.db"


async def create_postgres_database() -> str:
    """Create an empty database; returns its SQLAlchemy URL."""
    name = f"plein_test_{secrets.token_hex(6)}"
    connection = await asyncpg.connect(POSTGRES_DSN)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    base = POSTGRES_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{name}"


async def drop_postgres_database(url: str) -> None:
    """Drop a database made by `create_postgres_database` (closing stray connections first)."""
    name = url.rsplit("/", 1)[1]
    connection = await asyncpg.connect(POSTGRES_DSN)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@contextlib.asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """A fresh PostgreSQL database for the context's duration; yields its SQLAlchemy URL."""
    url = await create_postgres_database()
    try:
        yield url
    finally:
        await drop_postgres_database(url)
