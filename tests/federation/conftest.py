"""Three real Plein instances on 127.0.0.1 for federation tests, with helpers to act and to settle."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from support.databases import postgres_database
from support.federation import Instance
from support.instance import make_settings, serve_in_process


@pytest.fixture
async def trio(tmp_path: Path) -> AsyncIterator[tuple[Instance, Instance, Instance]]:
    """Instances A, B and C, each with its own port and data folder (workers off: tests settle inline)."""
    async with AsyncExitStack() as stack:
        running = [
            await stack.enter_async_context(serve_in_process(make_settings(tmp_path / name)))
            for name in ("a", "b", "c")
        ]
        yield tuple(Instance(instance) for instance in running)  # type: ignore[misc]


@pytest.fixture(params=["sqlite", "postgresql"])
async def group_pair(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Instance, Instance]]:
    """Instance A (a group's) on the backend of the run, instance B on SQLite (workers off)."""
    async with AsyncExitStack() as stack:
        database_url = ""
        if request.param == "postgresql":
            database_url = await stack.enter_async_context(postgres_database())
        a = await stack.enter_async_context(
            serve_in_process(make_settings(tmp_path / "a", database_url=database_url))
        )
        b = await stack.enter_async_context(serve_in_process(make_settings(tmp_path / "b")))
        yield Instance(a), Instance(b)
