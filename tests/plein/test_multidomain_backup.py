"""On PostgreSQL a several-domain install keeps each domain in its own schema of one database: a domain's
backup holds its schema only, and restoring it looks at that schema, not at the primary's."""

from __future__ import annotations

import re
import subprocess
import tarfile
from pathlib import Path

import pytest

from support.databases import postgres_database
from support.instance import run_plein

pytestmark = pytest.mark.asyncio

# A table's line in `pg_restore --list`: `215; 1259 16390 TABLE schema name owner` (not `TABLE DATA`).
TABLE_ENTRY = re.compile(r"^\d+; \d+ \d+ TABLE (?!DATA )(\S+) (\S+) ", re.MULTILINE)


def _config(tmp_path: Path, database_url: str) -> Path:
    path = tmp_path / "plein.toml"
    path.write_text(
        '[instance]\ndomain = "a.example"\nbase_url = "https://a.example"\n[secrets]\nsecret_key = "k"\n'
        f'[server]\ndata_dir = "data"\n[database]\nurl = "{database_url}"\n'
        '[[domains]]\ndomain = "b.example"\nbase_url = "https://b.example"\n'
    )
    return path


def _dumped_tables(archive: Path, folder: Path) -> list[str]:
    """`schema.table` of every table in the archive's PostgreSQL dump."""
    with tarfile.open(archive) as tar:
        member = next(name for name in tar.getnames() if name.endswith(".pgdump"))
        tar.extract(member, folder, filter="data")
    listing = subprocess.run(
        ["pg_restore", "--list", str(folder / member)], capture_output=True, text=True, check=True
    ).stdout
    return [f"{schema}.{table}" for schema, table in TABLE_ENTRY.findall(listing)]


async def test_a_domain_backup_holds_its_own_schema_only(tmp_path: Path) -> None:
    async with postgres_database() as database_url:
        config = _config(tmp_path, database_url)
        migrated = run_plein(config, "migrate")
        assert migrated.returncode == 0, migrated.stderr
        made = run_plein(config, "--domain", "b.example", "account", "create", "bob", "--password", "x" * 12)
        assert made.returncode == 0, made.stderr

        archive = tmp_path / "b.tar.gz"
        backup = run_plein(config, "--domain", "b.example", "backup", "--out", str(archive))
        assert backup.returncode == 0, backup.stderr
        tables = _dumped_tables(archive, tmp_path / "unpacked")
        assert "plein_b_example.accounts" in tables
        assert not [name for name in tables if not name.startswith("plein_b_example.")]

        # B's schema holds tables: a restore over it is refused (the primary's schema is not what counts).
        refused = run_plein(config, "--domain", "b.example", "restore", str(archive))
        assert refused.returncode != 0
        assert "not empty" in refused.stderr + refused.stdout
