"""Fixtures shared by every test module."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.db import Database
from storage.migrate import migrate
from support.databases import postgres_database, sqlite_url

pytest_plugins = ["peers.fedify"]


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database on each backend: a SQLite file and a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield sqlite_url(str(tmp_path))
        return
    async with postgres_database() as url:
        yield url


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A migrated database on each backend."""
    database = Database(database_url)
    await migrate(database)
    try:
        yield database
    finally:
        await database.dispose()
