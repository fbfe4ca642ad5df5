"""`plein migrate` started twice at once on a fresh PostgreSQL database (compose or systemd starting two
processes together): both succeed, and the schema is migrated once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import asyncpg

from support.databases import postgres_database
from support.instance import write_config


def _start_migrate(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "plein.cli", "--config", str(config), "migrate"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


async def test_two_migrations_at_once_both_succeed(tmp_path: Path) -> None:
    async with postgres_database() as url:
        configs = []
        for name in ("first", "second"):
            folder = tmp_path / name
            folder.mkdir()
            config = write_config(folder)
            config.write_text(config.read_text() + f'[database]\nurl = "{url}"\n')
            configs.append(config)
        processes = [_start_migrate(config) for config in configs]
        outputs = [process.communicate(timeout=120)[0] for process in processes]
        assert [process.returncode for process in processes] == [0, 0], outputs
        connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
        try:
            versions = await connection.fetch("SELECT version_num FROM alembic_version")
        finally:
            await connection.close()
        assert len(versions) == 1  # one head, recorded once
