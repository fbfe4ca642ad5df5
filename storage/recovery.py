"""Give back the jobs of a worker process that died on this machine, without waiting for their leases.

A SIGKILLed or crashed `plein serve` leaves its claimed jobs `running` until their lease (minutes) expires.
`locked_by` is `host:pid`, so on start-up a process can tell which of this host's workers are gone (no such
pid) and put their jobs back to `pending` at once; jobs of live processes, and of other hosts (whose
liveness we cannot see), keep their lease.
"""

from __future__ import annotations

import os
import socket

from sqlalchemy import select, update

from storage.db import Database
from storage.models import Job


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True


async def release_orphaned_jobs(db: Database, *, hostname: str | None = None) -> int:
    """Put back to `pending` the running jobs of dead worker processes of this host; returns how many."""
    hostname = hostname or socket.gethostname()
    async with db.read() as session:
        holders = (
            await session.execute(select(Job.locked_by).where(Job.state == "running").distinct())
        ).scalars()
        dead = []
        for holder in holders:
            pid = (holder or "").rpartition(":")[2]
            if not pid.isdigit() or f"{hostname}:{pid}"[:64] != holder or int(pid) == os.getpid():
                continue
            if not _process_alive(int(pid)):
                dead.append(holder)
    if not dead:
        return 0
    async with db.transaction() as session:
        result = await session.execute(
            update(Job)
            .where(Job.state == "running", Job.locked_by.in_(dead))
            .values(state="pending", locked_until=None, locked_by=None)
        )
    return max(result.rowcount, 0)
