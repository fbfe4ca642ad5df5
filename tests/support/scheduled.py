"""Bringing scheduled statuses' time forward, as tests move time: the rows, not the clock."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from storage.db import Database
from storage.models import Job, ScheduledStatus
from storage.scheduled_statuses import SCHEDULED_QUEUE
from storage.types import utcnow


async def make_scheduled_due(db: Database) -> None:
    """Every scheduled status's time a second ago, and its `publish` job due, as if that time had come."""
    past = utcnow() - timedelta(seconds=1)
    async with db.transaction() as session:
        await session.execute(update(ScheduledStatus).values(scheduled_at=past))
        await session.execute(
            update(Job).where(Job.queue == SCHEDULED_QUEUE, Job.state == "pending").values(next_try_at=past)
        )
