"""Fixtures for inbox tests (see `inbox_world`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from support.inbox_world import InboxWorld, build_world


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[InboxWorld]:
    """The world on SQLite."""
    async for built in build_world(tmp_path):
        yield built


@pytest.fixture
async def any_world(tmp_path: Path, database_url: str) -> AsyncIterator[InboxWorld]:
    """The world on each database backend."""
    async for built in build_world(tmp_path, database_url):
        yield built
