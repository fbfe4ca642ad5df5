"""How the durable queue and the deliveries are doing, read from the rows that are the truth: jobs waiting,
running and failed per queue with the age of the oldest due one, the failed jobs themselves, and per remote
host its circuit breaker and pending deliveries. `/metrics` and the admin's jobs page both read these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.deliveries import DELIVER_QUEUE
from storage.models import DeliveryHost, Job

UNFINISHED = ("pending", "running", "failed")  # done jobs are counted as they finish (plein_jobs)


@dataclass(frozen=True)
class QueueHealth:
    """One queue: its unfinished jobs by state and how long its oldest due pending job has waited."""

    queue: str
    jobs: dict[str, int]  # state → count, for the states in UNFINISHED that have jobs
    oldest_due_seconds: float | None  # None: nothing due


@dataclass(frozen=True)
class HostHealth:
    """One remote host we deliver to: its breaker and what waits for it."""

    host: str
    consecutive_failures: int
    paused_until: datetime | None  # the breaker is open until then (when later than now)
    last_success_at: datetime | None
    last_failure_at: datetime | None
    pending_deliveries: int


async def queue_health(session: AsyncSession, now: datetime) -> list[QueueHealth]:
    """Every queue with unfinished jobs, by name."""
    counts = (
        await session.execute(
            select(Job.queue, Job.state, func.count())
            .where(Job.state.in_(UNFINISHED))
            .group_by(Job.queue, Job.state)
        )
    ).all()
    oldest = (
        await session.execute(
            select(Job.queue, func.min(Job.next_try_at))
            .where(Job.state == "pending", Job.next_try_at <= now)
            .group_by(Job.queue)
        )
    ).all()
    jobs: dict[str, dict[str, int]] = {}
    for queue, state, count in counts:
        jobs.setdefault(queue, {})[state] = int(count)
    waited = {queue: max((now - due_at).total_seconds(), 0.0) for queue, due_at in oldest}
    return [
        QueueHealth(queue, jobs.get(queue, {}), waited.get(queue))
        for queue in sorted(set(jobs) | set(waited))
    ]


async def failed_jobs(session: AsyncSession, *, limit: int, offset: int = 0) -> list[Job]:
    """Jobs given up on (kept for the record), the latest first."""
    statement = (
        select(Job)
        .where(Job.state == "failed")
        .order_by(Job.finished_at.desc(), Job.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list((await session.execute(statement)).scalars())


async def host_health(
    session: AsyncSession, now: datetime, *, limit: int, offset: int = 0
) -> list[HostHealth]:
    """The remote hosts we have delivered to, worst first: paused ones, then by consecutive failures, then by
    deliveries waiting."""
    pending = (
        select(Job.host, func.count().label("waiting"))
        .where(Job.queue == DELIVER_QUEUE, Job.state.in_(("pending", "running")), Job.host.is_not(None))
        .group_by(Job.host)
        .subquery()
    )
    waiting = func.coalesce(pending.c.waiting, 0)
    is_paused = case((DeliveryHost.paused_until > now, 1), else_=0)
    statement = (
        select(DeliveryHost, waiting)
        .outerjoin(pending, pending.c.host == DeliveryHost.host)
        .order_by(
            is_paused.desc(), DeliveryHost.consecutive_failures.desc(), waiting.desc(), DeliveryHost.host
        )
        .limit(limit)
        .offset(offset)
    )
    return [
        HostHealth(
            row.host,
            row.consecutive_failures,
            row.paused_until if row.paused_until is not None and row.paused_until > now else None,
            row.last_success_at,
            row.last_failure_at,
            int(count),
        )
        for row, count in (await session.execute(statement)).all()
    ]
