"""Moving a poll's end into the past, as tests move time: the rows, not the clock."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from storage.db import Database
from storage.models import Job, Poll
from storage.polls import POLLS_QUEUE
from storage.types import utcnow


async def make_poll_jobs_due(db: Database, *, ending: bool = False) -> None:
    """The pending coalesced `update` jobs due now; with `ending`, every poll ended a second ago and its
    pending `end` job due with it (as if that time had come)."""
    past = utcnow() - timedelta(seconds=1)
    async with db.transaction() as session:
        if ending:
            for poll in (await session.execute(select(Poll))).scalars():
                poll.expires_at = past
        pending = select(Job).where(Job.queue == POLLS_QUEUE, Job.state == "pending")
        for job in (await session.execute(pending)).scalars():
            if job.payload["kind"] == "update":
                job.next_try_at = past
            elif ending:
                job.payload = {**job.payload, "expires_at": past.isoformat()}
                job.next_try_at = past
