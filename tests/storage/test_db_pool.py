"""A process's PostgreSQL pool under the concurrency a busy process has: its connections are kept, not
opened and closed per use (each new connection is a server process to start and a handshake to pay)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import event, text

from plein.app import build_context, close_context
from support.databases import postgres_database
from support.instance import make_settings

BUSY_SESSIONS = 20  # sessions a web or worker process held at once in bench/crisis.py


async def test_a_busy_process_reuses_its_connections(tmp_path: Path) -> None:
    async with postgres_database() as url:
        ctx = await build_context(make_settings(tmp_path, database_url=url))
        opened = 0

        def count_connection(*_: object) -> None:
            nonlocal opened
            opened += 1

        event.listen(ctx.db.write_engine.sync_engine, "connect", count_connection)
        try:
            for _ in range(3):
                together = asyncio.Barrier(BUSY_SESSIONS)

                async def read(together: asyncio.Barrier = together) -> None:
                    async with ctx.db.read() as session:
                        await session.execute(text("SELECT 1"))
                        await together.wait()  # all of them hold a connection at once

                await asyncio.gather(*(read() for _ in range(BUSY_SESSIONS)))
        finally:
            await close_context(ctx)
        assert opened <= BUSY_SESSIONS
