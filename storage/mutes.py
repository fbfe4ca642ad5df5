"""Mutes: local only (never federated). A mute takes the target's statuses out of the muter's home feed, and
with `notifications` its notifications too; fan-out skips the target while the mute is in force. A mute with
a duration stops applying at `expires_at` without a job: every read compares it with the clock (`in_force`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.follows import remove_author_from_home_feed
from storage.models import Mute, Notification
from storage.types import utcnow


def in_force(now: datetime | None = None) -> Any:
    """SQL condition: the mute has no end, or has not reached it."""
    return or_(Mute.expires_at.is_(None), Mute.expires_at > (now or utcnow()))


async def mute(
    session: AsyncSession, account_id: int, target_id: int, *, notifications: bool, duration_seconds: int
) -> Mute:
    """Mute `target_id` for `account_id` (again: the new settings replace the old), for `duration_seconds`
    (0: until unmuted). The target's statuses leave the muter's home feed, and with `notifications` the
    notifications it caused leave the muter's list, as Mastodon clears them."""
    row = await session.scalar(
        select(Mute).where(Mute.account_id == account_id, Mute.target_account_id == target_id)
    )
    if row is None:
        row = Mute(account_id=account_id, target_account_id=target_id)
        session.add(row)
    row.notifications = notifications
    row.expires_at = utcnow() + timedelta(seconds=duration_seconds) if duration_seconds else None
    await session.flush()
    await remove_author_from_home_feed(session, account_id, target_id, boosts_of_them=True, keep_lists=True)
    if notifications:
        await session.execute(
            delete(Notification).where(
                Notification.account_id == account_id, Notification.from_account_id == target_id
            )
        )
    return row


async def unmute(session: AsyncSession, account_id: int, target_id: int) -> None:
    """Lift a mute, if any (statuses skipped while it applied do not come back)."""
    await session.execute(
        delete(Mute).where(Mute.account_id == account_id, Mute.target_account_id == target_id)
    )
