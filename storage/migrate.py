"""Apply Alembic migrations to the configured database (run automatically at start-up)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from storage.db import Database, quote_identifier

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Held (PostgreSQL advisory lock, per database) for the upgrade's transaction: processes started together
# (compose, systemd) each run `plein migrate` or migrate at start-up, and two upgrades at once would both
# create the same tables, one failing. With the lock the second waits, then finds the schema current.
MIGRATION_LOCK = 0x706C65696E  # "plein"


def alembic_config(connection: Any = None) -> Config:
    """An Alembic config pointing at our migrations, optionally bound to an open connection."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


async def migrate(db: Database, revision: str = "head") -> None:
    """Upgrade the schema to `revision` (default: the newest)."""

    def _upgrade(connection: Any) -> None:
        command.upgrade(alembic_config(connection), revision)

    async with db.write_engine.begin() as connection:
        if not db.is_sqlite:  # SQLite's write transaction (BEGIN IMMEDIATE) already lets one writer in
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        if db.schema:  # the connection's search_path names it; Alembic's version table lands in it too
            await connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(db.schema)}"))
        await connection.run_sync(_upgrade)


async def pending_revisions(db: Database) -> list[str]:
    """Revisions not yet applied (empty when the schema is current)."""

    def _pending(connection: Any) -> list[str]:
        current = MigrationContext.configure(connection).get_current_heads()
        script = ScriptDirectory.from_config(alembic_config())
        applied = set()
        for head in current:
            applied.update(rev.revision for rev in script.iterate_revisions(head, "base"))
        return [rev.revision for rev in script.walk_revisions() if rev.revision not in applied]

    async with db.read_engine.connect() as connection:
        return await connection.run_sync(_pending)
