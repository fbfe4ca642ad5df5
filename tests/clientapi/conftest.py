"""Fixtures of the client API tests: a live in-process instance on each backend, or on SQLite only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from support.databases import sqlite_url
from support.instance import RunningInstance, make_settings, serve_in_process
from support.link_site import Site, site_and_instance


@pytest.fixture
async def instance(tmp_path: Path) -> AsyncIterator[RunningInstance]:
    """A live instance on SQLite (the default backend)."""
    settings = make_settings(tmp_path, database_url=sqlite_url(str(tmp_path)))
    async with serve_in_process(settings) as running:
        yield running


@pytest.fixture
async def instance_on_each_backend(tmp_path: Path, database_url: str) -> AsyncIterator[RunningInstance]:
    """A live instance on SQLite and on PostgreSQL (for the storage-heavy tests)."""
    settings = make_settings(tmp_path, database_url=database_url)
    async with serve_in_process(settings) as running:
        yield running


@pytest.fixture
async def site(tmp_path: Path, database_url: str) -> AsyncIterator[Site]:
    """An https website with OpenGraph pages and an instance (on each backend) trusting its certificate."""
    async with site_and_instance(tmp_path, database_url) as running:
        yield running
