"""Throwaway PostgreSQL databases for benchmarks: made on the server `PLEIN_BENCH_POSTGRES` names (default the
local one), dropped with their connections when the run ends."""

from __future__ import annotations

import os
import secrets

POSTGRES_ADMIN_DSN = os.environ.get("PLEIN_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


async def create_postgres_database(prefix: str) -> str:
    """A new empty database named `<prefix>_<random>`; returns its SQLAlchemy asyncpg URL."""
    import asyncpg

    name = f"{prefix}_{secrets.token_hex(4)}"
    connection = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    base = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{name}"


async def drop_postgres_database(url: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await connection.close()
