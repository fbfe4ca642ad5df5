"""Fan-out on write: when a status or interaction lands, write the rows that local readers will see.

Home timelines (`home_feed`) and notifications are written in the same transaction as the status or
interaction that causes them; the returned `Event`s are published on the bus after commit (streaming).
Both paths — a local post (outbox) and a received activity (inbox) — use these functions, so a remote and
a local status reach a local reader the same way.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.bus import Event
from storage.models import Account, Block, Follow, HomeFeedEntry, Mention, Mute, Notification, Status

NOTIFICATION_TYPES = frozenset(
    {"mention", "status", "reblog", "follow", "follow_request", "favourite", "poll", "update"}
)


def _insert_ignore(dialect_name: str, table: type) -> Any:
    insert = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing()


async def local_follower_ids(
    session: AsyncSession, account_id: int, *, reblogs_only: bool = False
) -> list[int]:
    """Ids of local accounts following `account_id` (only those showing boosts, if `reblogs_only`)."""
    statement = (
        select(Follow.account_id)
        .join(Account, Account.id == Follow.account_id)
        .where(
            Follow.target_account_id == account_id, Account.domain.is_(None), Account.suspended_at.is_(None)
        )
    )
    if reblogs_only:
        statement = statement.where(Follow.show_reblogs.is_(True))
    return list((await session.execute(statement)).scalars())


async def local_mentioned_ids(session: AsyncSession, status_id: int) -> list[int]:
    """Ids of local accounts mentioned by a status."""
    statement = (
        select(Mention.account_id)
        .join(Account, Account.id == Mention.account_id)
        .where(Mention.status_id == status_id, Account.domain.is_(None))
    )
    return list((await session.execute(statement)).scalars())


async def _blocked_or_muting(session: AsyncSession, reader_ids: list[int], author_id: int) -> set[int]:
    """Readers who block or mute the author, or whom the author blocks."""
    if not reader_ids:
        return set()
    blockers = select(Block.account_id).where(
        Block.account_id.in_(reader_ids), Block.target_account_id == author_id
    )
    blocked = select(Block.target_account_id).where(
        Block.account_id == author_id, Block.target_account_id.in_(reader_ids)
    )
    muters = select(Mute.account_id).where(
        Mute.account_id.in_(reader_ids), Mute.target_account_id == author_id
    )
    rows = await session.execute(blockers.union(blocked, muters))
    return set(rows.scalars())


async def add_to_home_feeds(session: AsyncSession, reader_ids: list[int], status_id: int) -> None:
    """Insert one `home_feed` row per reader (duplicates ignored), in one statement."""
    if reader_ids:
        rows = [{"account_id": reader, "status_id": status_id} for reader in set(reader_ids)]
        connection = await session.connection()
        await connection.execute(_insert_ignore(connection.dialect.name, HomeFeedEntry), rows)


async def fan_out_status(session: AsyncSession, status: Status, author: Account) -> list[Event]:
    """Write home-feed rows and mention notifications for a new status (or boost) by `author`.

    Who sees it: the author (if local), local followers for public/unlisted/private posts (boosts only to
    followers who show boosts), and mentioned local accounts (for every visibility, including direct).
    Readers who block or mute the author are left out.
    """
    events: list[Event] = []
    readers: set[int] = set()
    if author.domain is None:
        readers.add(author.id)
    if status.visibility in ("public", "unlisted", "private"):
        readers.update(
            await local_follower_ids(session, author.id, reblogs_only=status.reblog_of_id is not None)
        )
    mentioned = await local_mentioned_ids(session, status.id) if status.reblog_of_id is None else []
    readers.update(mentioned)
    excluded = await _blocked_or_muting(session, list(readers - {author.id}), author.id)
    readers -= excluded
    await add_to_home_feeds(session, list(readers), status.id)
    for reader in readers:
        events.append(Event(topic=f"user:{reader}", kind="update", payload={"status_id": status.id}))
    if status.visibility in ("public", "unlisted") and status.reblog_of_id is None:
        scope = "public:local" if author.domain is None else "public:remote"
        if status.visibility == "public":
            events.append(Event(topic=scope, kind="update", payload={"status_id": status.id}))
            events.append(Event(topic="public", kind="update", payload={"status_id": status.id}))
    for account_id in mentioned:
        if account_id != author.id and account_id not in excluded:
            event = await notify(session, account_id, author.id, "mention", status_id=status.id)
            if event is not None:
                events.append(event)
    return events


async def notify(
    session: AsyncSession,
    recipient_id: int,
    from_account_id: int,
    notification_type: str,
    *,
    status_id: int | None = None,
) -> Event | None:
    """Store a notification for a local recipient; None (nothing stored) if the recipient is remote, is the
    sender, or blocks/mutes the sender."""
    if notification_type not in NOTIFICATION_TYPES:
        raise ValueError(f"unknown notification type {notification_type!r}")
    if recipient_id == from_account_id:
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
                    )
                ),
            )
        )
    )
    if silenced:
        return None
    notification = Notification(
        account_id=recipient_id,
        from_account_id=from_account_id,
        notification_type=notification_type,
        status_id=status_id,
    )
    session.add(notification)
    await session.flush()
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
