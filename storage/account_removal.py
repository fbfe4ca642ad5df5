"""Removing what an account leaves behind when it is gone — a remote actor's `Delete`, or a local account
deleted on request (`outbox.actions.account_deletion`): one place, so both leave the same state.

A status is tombstoned (kept as a row so a replayed copy is refused), never hard-deleted here.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.follows import recount_follows
from storage.lists import remove_statuses_from_feeds
from storage.media import PROFILE_IMAGE_SIZES
from storage.media_cache import forget_copies
from storage.media_lifecycle import queue_withdrawal
from storage.models import Account, Favourite, Follow, FollowRequest, MediaAttachment, Notification, Status
from storage.profile_jobs import forget_profile_images
from storage.remote import bump
from storage.types import utcnow


async def tombstone_status(session: AsyncSession, status: Status) -> None:
    """Tombstone a status: gone from timelines and notifications, counters adjusted, its boosts too."""
    boosts = list(
        (
            await session.execute(
                select(Status).where(Status.reblog_of_id == status.id, Status.deleted_at.is_(None))
            )
        ).scalars()
    )
    for target in [status, *boosts]:
        target.deleted_at = utcnow()
        await remove_statuses_from_feeds(session, [target.id])
        await session.execute(delete(Notification).where(Notification.status_id == target.id))
        await bump(session, Account.statuses_count, target.account_id, -1)
    # Our copies of a remote status's media leave the public folder as a local status's do.
    await queue_withdrawal(session, status.id)
    if status.in_reply_to_id is not None:
        await bump(session, Status.replies_count, status.in_reply_to_id, -1)
    if status.reblog_of_id is not None:
        await bump(session, Status.reblogs_count, status.reblog_of_id, -1)
    await session.flush()


async def erase_account(session: AsyncSession, account: Account) -> list[Status]:
    """In the caller's transaction: tombstone the account's statuses, drop its follows and follow requests
    both ways (recounting the other ends), its favourites, the notifications it caused, our copies of its
    avatar and header (and, for a remote account, its attachments and our copies of their files), and mark it gone and suspended;
    its statuses leave every home and list feed with their tombstones. Returns the statuses tombstoned."""
    statuses = list(
        (
            await session.execute(
                select(Status).where(Status.account_id == account.id, Status.deleted_at.is_(None))
            )
        ).scalars()
    )
    for status in statuses:
        await tombstone_status(session, status)
    others: set[int] = set()
    for model in (Follow, FollowRequest):
        for column, other in (
            (model.account_id, model.target_account_id),
            (model.target_account_id, model.account_id),
        ):
            rows = await session.execute(delete(model).where(column == account.id).returning(other))
            others.update(rows.scalars())
    favourited = await session.execute(
        delete(Favourite).where(Favourite.account_id == account.id).returning(Favourite.status_id)
    )
    for status_id in favourited.scalars():
        await bump(session, Status.favourites_count, status_id, -1)
    await session.execute(delete(Notification).where(Notification.from_account_id == account.id))
    # Our copies of its avatar and header: the rows now, the files by a job after the commit.
    await forget_profile_images(session, Account.id == account.id)
    await session.execute(
        delete(MediaAttachment).where(
            MediaAttachment.account_id == account.id,
            MediaAttachment.media_type.in_(tuple(PROFILE_IMAGE_SIZES)),
        )
    )
    account.avatar_file = account.header_file = None
    if account.domain is not None:
        # A remote account's attachments go with it, and our copies of their files once this commits.
        # (A local account's uploads are withdrawn by the caller and kept for `privacy.deleted_media_days`.)
        await forget_copies(session, MediaAttachment.account_id == account.id)
        await session.execute(delete(MediaAttachment).where(MediaAttachment.account_id == account.id))
    account.suspended_at = account.gone_at = utcnow()
    await session.flush()
    await recount_follows(session, account.id, *others)
    return statuses
