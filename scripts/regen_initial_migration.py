"""Regenerate storage/migrations/versions/0001_initial_schema.py from storage/models.py.

Only while Plein has no release: once an instance exists in the wild, schema changes get new revisions
(`alembic revision --autogenerate`) instead. Run from the repo root: `.venv/bin/python scripts/regen_initial_migration.py`.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Expression indexes are invisible to autogenerate on SQLite, so they are appended by hand here.
EXPRESSION_INDEXES = """
    op.create_index(
        "uq_accounts_username_domain",
        "accounts",
        [sa.text("lower(username)"), sa.text("coalesce(domain, '')")],
        unique=True,
    )
"""


async def main() -> None:
    from alembic import command

    from storage.db import Database
    from storage.migrate import alembic_config

    for old in (ROOT / "storage/migrations/versions").glob("0001_*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite+aiosqlite:///{folder}/empty.db")
        async with db.write_engine.begin() as connection:
            await connection.run_sync(
                lambda sync: command.revision(
                    alembic_config(sync), message="initial schema", autogenerate=True, rev_id="0001"
                )
            )
        await db.dispose()
    path = next((ROOT / "storage/migrations/versions").glob("0001_*.py"))
    text = path.read_text()
    marker = "    # ### end Alembic commands ###"
    text = text.replace(marker, EXPRESSION_INDEXES + marker, 1)
    text = "\n".join(line for line in text.splitlines() if not line.startswith("Create Date:")) + "\n"
    path.write_text(text)


if __name__ == "__main__":
    asyncio.run(main())
