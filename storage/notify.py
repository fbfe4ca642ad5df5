"""Storing one notification for a local account: the single path of every notification but the mentions
of a batch of received statuses (`storage.fanout_batch.fan_out_remote_statuses`, which applies the same rules).

A notification is not stored when its recipient is remote or is the sender, blocks or mutes the sender (or
its domain), or muted the thread of the status; the recipient's notification policy then accepts, filters
(stored, held in a notification request, not streamed) or drops it (`storage.notification_policy`).
Accepted favourites, boosts and follows join their group (`storage.notification_groups`).
"""

from __future__ import annotations

from sqlalchemy import and_, exists, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.account_domain_blocks import blocks_domain_of
from storage.bus import Event
from storage.conversation_mutes import status_thread_muted
from storage.models import Account, Block, Mute, Notification, Status
from storage.mutes import in_force as mute_in_force
from storage.notification_groups import new_group_key
from storage.notification_policy import Candidate, notification_verdicts
from storage.notification_requests import hold_in_requests
from storage.push import enqueue_pushes
from storage.types import utcnow

NOTIFICATION_TYPES = frozenset(
    {
        "mention",
        "status",
        "reblog",
        "follow",
        "follow_request",
        "favourite",
        "poll",
        "update",
        "quote",
        "quoted_update",
    }
)


async def notify(
    session: AsyncSession,
    recipient_id: int,
    from_account_id: int,
    notification_type: str,
    *,
    status_id: int | None = None,
) -> Event | None:
    """Store a notification for a local recipient and return the event to publish; None when nothing is
    stored (the recipient is remote, is the sender — but for the end of their own poll —, blocks/mutes the sender, muted the thread of the status,
    or its policy drops it) or when its policy filtered it."""
    if notification_type not in NOTIFICATION_TYPES:
        raise ValueError(f"unknown notification type {notification_type!r}")
    if recipient_id == from_account_id and notification_type != "poll":  # a poll's end tells its author too
        return None
    recipient_is_local = await session.scalar(
        select(exists().where(Account.id == recipient_id, Account.domain.is_(None)))
    )
    if not recipient_is_local:
        return None
    silenced = await session.scalar(
        select(
            or_(
                exists().where(
                    and_(Block.account_id == recipient_id, Block.target_account_id == from_account_id)
                ),
                exists().where(
                    and_(
                        Mute.account_id == recipient_id,
                        Mute.target_account_id == from_account_id,
                        Mute.notifications.is_(True),
                        mute_in_force(),
                    )
                ),
                blocks_domain_of(recipient_id, from_account_id),
                # A muted thread notifies of nothing that happens to its statuses (as Mastodon).
                status_thread_muted(recipient_id, status_id) if status_id is not None else false(),
            )
        )
    )
    if silenced:
        return None
    candidate = Candidate(recipient_id, from_account_id, notification_type)
    if notification_type == "mention" and status_id is not None:
        mentioning = (
            await session.execute(
                select(Status.visibility, Status.in_reply_to_id).where(Status.id == status_id)
            )
        ).first()
        if mentioning is not None:
            candidate = Candidate(
                recipient_id,
                from_account_id,
                notification_type,
                mentioning.visibility,
                mentioning.in_reply_to_id,
            )
    [verdict] = await notification_verdicts(session, [candidate])
    if verdict == "drop":
        return None
    created_at = utcnow()
    filtered = verdict == "filter"
    notification = Notification(
        account_id=recipient_id,
        from_account_id=from_account_id,
        notification_type=notification_type,
        status_id=status_id,
        filtered=filtered,
        group_key=None
        if filtered
        else await new_group_key(session, recipient_id, notification_type, status_id, created_at),
        created_at=created_at,
    )
    session.add(notification)
    await session.flush()
    if filtered:  # held back: nothing is streamed; a mention waits in its sender's request
        if notification_type == "mention":
            await hold_in_requests(session, [(recipient_id, from_account_id, status_id)])
        return None
    await enqueue_pushes(session, [(recipient_id, notification.id, notification_type)])
    return Event(
        topic=f"user:{recipient_id}", kind="notification", payload={"notification_id": notification.id}
    )


async def notify_boosters_of_edit(session: AsyncSession, status: Status) -> list[Event]:
    """An edited status notifies local accounts that boosted it (Mastodon's `update` notification)."""
    rows = await session.execute(
        select(Status.account_id)
        .join(Account, Account.id == Status.account_id)
        .where(Status.reblog_of_id == status.id, Account.domain.is_(None), Status.deleted_at.is_(None))
    )
    events = []
    for booster_id in set(rows.scalars()):
        event = await notify(session, booster_id, status.account_id, "update", status_id=status.id)
        if event is not None:
            events.append(event)
    return events
