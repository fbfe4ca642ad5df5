"""Give back the jobs of a worker process that died, without waiting for their leases.

A SIGKILLed or crashed worker process leaves its claimed jobs `running` until their lease (minutes) expires.
Two ways to tell sooner that it is gone, both keyed by `locked_by` (`host:pid`):
- on this host, no such pid (`release_orphaned_jobs`: at start-up and on every heartbeat round);
- on any host, its heartbeat row (`worker_processes`, written every few seconds by each worker process) has
  gone silent for longer than a minute (`release_jobs_of_silent_workers`).
A job of a process taken for dead while it still runs may run twice: delivery is at-least-once, and
receivers deduplicate by activity id.
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from storage.db import Database
from storage.models import Job, WorkerProcess
from storage.retention import ensure_maintenance
from storage.types import utcnow


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


async def beat(db: Database, name: str) -> None:
    """Record that worker process `name` is alive now."""
    now = utcnow()
    async with db.transaction() as session:
        insert = (postgresql.insert if not db.is_sqlite else sqlite.insert)(WorkerProcess)
        await session.execute(
            insert.values(name=name, seen_at=now).on_conflict_do_update(
                index_elements=["name"], set_={"seen_at": now}
            )
        )


async def forget(db: Database, name: str) -> None:
    """A worker process stopping cleanly takes its heartbeat row away."""
    async with db.transaction() as session:
        await session.execute(delete(WorkerProcess).where(WorkerProcess.name == name))


async def release_jobs_of_silent_workers(db: Database, *, silent_for: timedelta) -> int:
    """Put back to `pending` the running jobs whose holder has not beaten for `silent_for` (or never did);
    forget heartbeats silent for a day. Returns how many jobs went back."""
    now = utcnow()
    alive = select(WorkerProcess.name).where(WorkerProcess.seen_at > now - silent_for)
    async with db.transaction() as session:
        result = await session.execute(
            update(Job)
            .where(Job.state == "running", Job.locked_by.not_in(alive))
            .values(state="pending", locked_until=None, locked_by=None)
            .execution_options(synchronize_session=False)
        )
        await session.execute(delete(WorkerProcess).where(WorkerProcess.seen_at < now - timedelta(days=1)))
    return max(result.rowcount, 0)


async def start_beating(db: Database, name: str) -> int:
    """A worker process starting, before its first claim: say it is alive (so no other process takes its
    jobs for a dead one's), make sure the hourly maintenance is scheduled, and take back the jobs of this
    host's dead workers. Returns how many."""
    await beat(db, name)
    await ensure_maintenance(db)
    return await release_orphaned_jobs(db)
