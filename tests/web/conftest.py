"""The instance most web tests use: SQLite, with the local account `alice` (password `PASSWORD`). Modules
that need another set-up define their own `instance`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from support.databases import sqlite_url
from support.instance import RunningInstance, make_settings, serve_in_process
from support.oauth import make_user
from support.web import PASSWORD


@pytest.fixture
async def instance(tmp_path: Path) -> AsyncIterator[RunningInstance]:
    async with serve_in_process(make_settings(tmp_path, database_url=sqlite_url(str(tmp_path)))) as running:
        assert running.ctx is not None
        await make_user(running.ctx, "alice", PASSWORD)
        yield running
