"""`plein doctor` on PostgreSQL says how many Plein processes the server's max_connections holds with this
pool (each process: pool_size + max_overflow + the event bus's connections), and warns below four."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from plein.doctor import diagnose
from storage.pool_sizing import ConnectionBudget, connections_per_process
from support.databases import POSTGRES_DSN, postgres_database
from support.instance import free_port, make_settings


async def _usable_connections() -> tuple[int, int]:
    connection = await asyncpg.connect(POSTGRES_DSN)
    try:
        rows = await connection.fetch(
            "SELECT name, setting FROM pg_settings WHERE name IN "
            "('max_connections', 'superuser_reserved_connections', 'reserved_connections')"
        )
    finally:
        await connection.close()
    settings = {row["name"]: int(row["setting"]) for row in rows}
    reserved = settings.get("superuser_reserved_connections", 0) + settings.get("reserved_connections", 0)
    return settings["max_connections"], settings["max_connections"] - reserved


async def test_doctor_counts_the_processes_that_fit(tmp_path: Path) -> None:
    max_connections, usable = await _usable_connections()
    fitting_pool = usable // 4 - 2  # with max_overflow 0 and the bus's two connections: exactly four fit
    crowding_pool = usable // 3  # not even three fit
    async with postgres_database() as url:
        found = {}
        for pool_size in (fitting_pool, crowding_pool):
            settings = make_settings(
                tmp_path,
                port=free_port(),
                database_url=url,
                **{"database.pool_size": pool_size, "database.max_overflow": 0},
            )
            [finding] = [finding for finding in await diagnose(settings) if finding.check == "connections"]
            found[pool_size] = finding
    fitting, crowding = found[fitting_pool], found[crowding_pool]
    assert fitting.level == "ok", fitting
    assert f"max_connections {max_connections}" in fitting.message
    assert f"holds {usable // (fitting_pool + 2)} Plein processes of {fitting_pool + 2} connections" in (
        fitting.message
    )
    assert crowding.level == "warn", crowding
    assert f"holds {usable // (crowding_pool + 2)} Plein processes" in crowding.message
    assert "max_connections" in crowding.fix and "pool_size" in crowding.fix


async def test_doctor_says_nothing_of_connections_on_sqlite(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, port=free_port())
    assert not [finding for finding in await diagnose(settings) if finding.check == "connections"]


def test_a_pool_sized_for_four_processes_fits() -> None:
    budget = ConnectionBudget(max_connections=100, reserved=3)  # PostgreSQL's defaults
    pool_size, max_overflow = budget.pool_for(4, spare=5)
    assert (pool_size, max_overflow) == (16, 5)
    assert 4 * connections_per_process(pool_size, max_overflow) <= 100 - 3 - 5
    assert budget.processes_that_fit(20, 5) == 3  # the defaults: the crisis benchmark's four overflowed
    assert ConnectionBudget(max_connections=30, reserved=3).pool_for(4) == (3, 1)
