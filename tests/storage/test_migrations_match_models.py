"""The migrations produce exactly the schema the models describe (no forgotten migration)."""

from __future__ import annotations

import warnings
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from storage.db import Database
from storage.models import Base


async def test_migrated_schema_matches_models(db: Database) -> None:
    def diff(connection: Any) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        with warnings.catch_warnings():
            # SQLite cannot reflect expression indexes; alembic warns and skips them.
            warnings.simplefilter("ignore")
            return compare_metadata(context, Base.metadata)

    async with db.read_engine.connect() as connection:
        differences = await connection.run_sync(diff)
    assert differences == []
