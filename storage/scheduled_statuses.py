"""Scheduled statuses: the rows, Mastodon's limits, the media they hold, and the `scheduled_statuses` queue's
`publish` job, written in the same transaction as the row it publishes (one job per row, by dedupe key).

Publication deletes the row in the publishing transaction (`consume`), so a job that runs twice (a worker
that died after committing) finds nothing left to publish: a scheduled status is published once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.media import PROFILE_IMAGE_SIZES
from storage.models import Job, MediaAttachment, ScheduledStatus
from storage.queue import enqueue

SCHEDULED_QUEUE = "scheduled_statuses"
MIN_OFFSET = timedelta(minutes=5)  # Mastodon's PostStatusService::MIN_SCHEDULE_OFFSET
MAX_TOTAL = 300
MAX_PER_DAY = 25


def _publish_key(scheduled_id: int) -> str:
    return f"publish {scheduled_id}"


async def limit_reached(
    session: AsyncSession, account_id: int, scheduled_at: datetime, *, besides: int | None = None
) -> str | None:
    """Which of Mastodon's limits another scheduled status at `scheduled_at` would pass (300 waiting, 25 on
    one UTC day), or None. `besides` is a scheduled status being moved, not counted."""
    mine = [ScheduledStatus.account_id == account_id]
    if besides is not None:
        mine.append(ScheduledStatus.id != besides)
    total = await session.scalar(select(func.count()).select_from(ScheduledStatus).where(*mine))
    if (total or 0) >= MAX_TOTAL:
        return f"You have exceeded the limit of {MAX_TOTAL} scheduled posts"
    day = scheduled_at.replace(hour=0, minute=0, second=0, microsecond=0)
    same_day = await session.scalar(
        select(func.count())
        .select_from(ScheduledStatus)
        .where(
            *mine, ScheduledStatus.scheduled_at >= day, ScheduledStatus.scheduled_at < day + timedelta(days=1)
        )
    )
    if (same_day or 0) >= MAX_PER_DAY:
        return f"You have exceeded the limit of {MAX_PER_DAY} scheduled posts for that day"
    return None


async def add_scheduled(
    session: AsyncSession, account_id: int, scheduled_at: datetime, params: dict[str, Any]
) -> ScheduledStatus:
    """Store a scheduled status and its `publish` job (due at `scheduled_at`) in the caller's transaction."""
    scheduled = ScheduledStatus(account_id=account_id, scheduled_at=scheduled_at, params=params)
    session.add(scheduled)
    await session.flush()
    await queue_publication(session, scheduled)
    return scheduled


async def queue_publication(session: AsyncSession, scheduled: ScheduledStatus) -> None:
    """The `publish` job of a scheduled status, due at its `scheduled_at`."""
    await enqueue(
        session,
        SCHEDULED_QUEUE,
        {"scheduled_status_id": scheduled.id},
        run_at=scheduled.scheduled_at,
        dedupe_key=_publish_key(scheduled.id),
    )


async def add_review_draft(
    session: AsyncSession,
    account_id: int,
    submitted_by_user_id: int,
    params: dict[str, Any],
    scheduled_at: datetime,
) -> ScheduledStatus:
    """Store an organisation author's post as a draft waiting for review: no `publish` job until a
    publisher approves it (`queue_publication`); `scheduled_at` is the time the author asked for, or now."""
    draft = ScheduledStatus(
        account_id=account_id,
        scheduled_at=scheduled_at,
        params=params,
        review_state="pending",
        submitted_by_user_id=submitted_by_user_id,
    )
    session.add(draft)
    await session.flush()
    return draft


async def reserve_media(
    session: AsyncSession, scheduled_id: int, account_id: int, media_ids: Sequence[int]
) -> list[int]:
    """Hold the account's free media (attached to no status, held by no other scheduled status) for a
    scheduled status; returns the ids that could not be held."""
    if not media_ids:
        return []
    free = (
        await session.execute(
            select(MediaAttachment.id).where(
                MediaAttachment.id.in_(media_ids),
                MediaAttachment.account_id == account_id,
                MediaAttachment.status_id.is_(None),
                MediaAttachment.scheduled_status_id.is_(None),
                MediaAttachment.media_type.not_in(tuple(PROFILE_IMAGE_SIZES)),  # an avatar is no attachment
            )
        )
    ).scalars()
    held = set(free)
    if held:
        await session.execute(
            update(MediaAttachment)
            .where(MediaAttachment.id.in_(held))
            .values(scheduled_status_id=scheduled_id)
        )
    return [media_id for media_id in dict.fromkeys(media_ids) if media_id not in held]


async def scheduled_of(
    session: AsyncSession, account_id: int, scheduled_id: int, *, for_update: bool = False
) -> ScheduledStatus | None:
    """One of the account's scheduled statuses (locked for the transaction with `for_update`)."""
    statement = select(ScheduledStatus).where(
        ScheduledStatus.id == scheduled_id, ScheduledStatus.account_id == account_id
    )
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def scheduled_with_key(session: AsyncSession, account_id: int, key: str) -> ScheduledStatus | None:
    """The account's scheduled status made with this Idempotency-Key, if any (at most 300 to look at)."""
    rows = await session.execute(select(ScheduledStatus).where(ScheduledStatus.account_id == account_id))
    return next((row for row in rows.scalars() if row.params.get("idempotency") == key), None)


async def reschedule(session: AsyncSession, scheduled: ScheduledStatus, scheduled_at: datetime) -> None:
    """Move a scheduled status, and its waiting `publish` job with it."""
    scheduled.scheduled_at = scheduled_at
    await session.execute(
        update(Job)
        .where(
            Job.queue == SCHEDULED_QUEUE, Job.dedupe_key == _publish_key(scheduled.id), Job.state == "pending"
        )
        .values(next_try_at=scheduled_at)
    )


async def consume(session: AsyncSession, scheduled_id: int) -> bool:
    """Delete a scheduled status as it is published or cancelled, releasing its media; False when it was
    gone already (published or cancelled before)."""
    deleted = await session.execute(delete(ScheduledStatus).where(ScheduledStatus.id == scheduled_id))
    await session.execute(
        update(MediaAttachment)
        .where(MediaAttachment.scheduled_status_id == scheduled_id)
        .values(scheduled_status_id=None)
    )
    return bool(deleted.rowcount)


async def held_media(session: Any, scheduled_ids: Sequence[int]) -> dict[int, list[MediaAttachment]]:
    """The media each scheduled status holds, by its id, oldest first."""
    if not scheduled_ids:
        return {}
    rows = await session.execute(
        select(MediaAttachment)
        .where(MediaAttachment.scheduled_status_id.in_(scheduled_ids))
        .order_by(MediaAttachment.id)
    )
    held: dict[int, list[MediaAttachment]] = {}
    for media in rows.scalars():
        held.setdefault(media.scheduled_status_id, []).append(media)  # type: ignore[arg-type]
    return held
