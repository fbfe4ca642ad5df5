"""How many Plein processes one PostgreSQL server holds: each process keeps `pool_size` connections, opens
up to `max_overflow` more for a moment, and holds the event bus's own (`storage.pg_bus`). Past the server's
`max_connections` (less those reserved for superusers) a connection is refused ("sorry, too many clients
already"), which is what the crisis benchmark of issue #17 ran into with four processes on the defaults.
Used by `plein doctor` and by the crisis benchmark, which sizes its pools to fit."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from storage.db import Database
from storage.pg_bus import BUS_CONNECTIONS

# Processes a scaled-out instance runs: two web processes and two workers (docs/OPERATIONS.md).
SCALE_OUT_PROCESSES = 4


@dataclass(frozen=True)
class ConnectionBudget:
    """A PostgreSQL server's connection limit, as Plein may use it."""

    max_connections: int
    reserved: int  # kept for superusers (superuser_reserved_connections, reserved_connections)

    @property
    def usable(self) -> int:
        return self.max_connections - self.reserved

    def processes_that_fit(self, pool_size: int, max_overflow: int) -> int:
        """How many processes with this pool can hold all their connections at once."""
        return self.usable // connections_per_process(pool_size, max_overflow)

    def pool_for(self, processes: int, *, max_overflow: int = 5, spare: int = 0) -> tuple[int, int]:
        """A (pool_size, max_overflow) with which `processes` processes fit, `spare` connections left for
        others (tools, a benchmark's own queries). The overflow takes at most a quarter of them: connections kept
        are the cheap ones (each overflow connection is opened and closed again per use)."""
        per_process = (self.usable - spare) // processes - BUS_CONNECTIONS
        if per_process < 1:
            raise ValueError(f"{processes} processes cannot fit in {self.usable - spare} connections")
        overflow = min(max_overflow, per_process // 4)
        return per_process - overflow, overflow


def connections_per_process(pool_size: int, max_overflow: int) -> int:
    """The most connections one Plein process opens at once to PostgreSQL."""
    return pool_size + max_overflow + BUS_CONNECTIONS


async def connection_budget(db: Database) -> ConnectionBudget:
    """The server's `max_connections` and the connections it reserves (PostgreSQL only)."""
    async with db.read() as session:
        settings = dict(
            (
                await session.execute(
                    text(
                        "SELECT name, setting FROM pg_settings WHERE name IN "
                        "('max_connections', 'superuser_reserved_connections', 'reserved_connections')"
                    )
                )
            ).all()
        )
    reserved = int(settings.get("superuser_reserved_connections", 0)) + int(
        settings.get("reserved_connections", 0)
    )
    return ConnectionBudget(max_connections=int(settings["max_connections"]), reserved=reserved)
