"""Fan-out on write: when a status or interaction lands, write the rows that local readers will see.

Home timelines (`home_feed`) and notifications are written in the same transaction as the status or
interaction that causes them; the returned `Event`s are published on the bus after commit (streaming).
Both paths — a local post (outbox) and a received activity (inbox) — use these functions, so a remote and
a local status reach a local reader the same way. Followed hashtags (`storage.tags`) add their local
followers to a public status's readers, and a direct status is recorded in its readers' conversations
(`storage.conversations`), on both paths. `fan_out_remote_statuses` is the same rule as
`fan_out_status` for a batch of new remote statuses, split in reads (`remote_audiences`, which can run
before the write transaction) and two writes for the whole batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, false, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.account_domain_blocks import blocks_domain_of
from storage.bus import Event
from storage.conversation_mutes import status_thread_muted, thread_key
from storage.conversations import DirectMessage, add_to_conversations, conversation_events
from storage.ids import new_id
from storage.lists import ListedStatus, add_to_list_feeds, exclusive_pairs
from storage.models import (
    Account,
    AccountDomainBlock,
    Block,
    ConversationMute,
    Follow,
    HomeFeedEntry,
    Mention,
    Mute,
    Notification,
    Status,
)
from storage.mutes import in_force as mute_in_force
from storage.push import enqueue_pushes
from storage.statuses import tag_names
from storage.stream_events import PUBLIC_TOPIC
from storage.tags import tag_follower_ids
from storage.types import utcnow

RESTORED_STATUSES = 400  # statuses put back into home and list feeds when an author's suspension is lifted
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


async def _mentioned_ids(session: AsyncSession, status_id: int) -> list[int]:
    """Ids of every account a status mentions, local or remote."""
    return list(
        (await session.execute(select(Mention.account_id).where(Mention.status_id == status_id))).scalars()
    )


def reaches_tag_followers(visibility: str, is_boost: bool, author_silenced: bool) -> bool:
    """Whether a status goes to the followers of its hashtags: a public original by an author not silenced
    (Mastodon's `broadcastable?`)."""
    return visibility == "public" and not is_boost and not author_silenced


async def _tag_readers(
    session: AsyncSession,
    followers_by_tag: dict[str, set[int]],
    names: Sequence[str],
    author_id: int,
    mentioned_ids: Sequence[int],
) -> set[int]:
    """Local followers of any of these hashtags, but the author, and those who block or mute an account the
    status mentions (as Mastodon's `filter_from_tags?`); blocks and mutes of the author itself are left to
    the caller, which applies them to every reader."""
    followers = set().union(*(followers_by_tag.get(name, set()) for name in names)) - {author_id}
    if followers and mentioned_ids:
        followers -= {reader for reader, _ in await _excluded_pairs(session, followers, set(mentioned_ids))}
    return followers


async def _blocked_or_muting(
    session: AsyncSession, reader_ids: Sequence[int], author_id: int, *, notifications: bool = False
) -> set[int]:
    """Readers who block or mute the author, or whom the author blocks (`notifications`: counting only the
    mutes that hide notifications)."""
    pairs = await _excluded_pairs(session, set(reader_ids), {author_id}, notifications=notifications)
    return {reader for reader, _ in pairs}


async def add_to_home_feeds(session: AsyncSession, reader_ids: list[int], status_id: int) -> None:
    """Insert one `home_feed` row per reader (duplicates ignored), in one statement."""
    if reader_ids:
        rows = [{"account_id": reader, "status_id": status_id} for reader in set(reader_ids)]
        connection = await session.connection()
        await connection.execute(_insert_ignore(connection.dialect.name, HomeFeedEntry), rows)


def _home_readers(
    author: Account, visibility: str, followers: Sequence[int], mentioned: Sequence[int]
) -> set[int]:
    """Whose home feed a status goes to, before blocks and mutes: the author (if local), the local
    `followers` (those showing boosts, for a boost) unless it is direct, and the `mentioned` local accounts."""
    readers = {author.id} if author.domain is None else set()
    if visibility in ("public", "unlisted", "private"):
        readers.update(followers)
    return readers | set(mentioned)


async def restore_author_to_home_feeds(session: AsyncSession, author: Account) -> None:
    """Put the newest `RESTORED_STATUSES` of an author back into the home and list feeds they went to, after a
    suspension (which took them out: `storage.follows.remove_author_from_home_feed`) is lifted. Bounded,
    as Mastodon merges back a bounded number; older statuses stay on the author's profile."""
    statuses = (
        await session.execute(
            select(Status.id, Status.visibility, Status.reblog_of_id, Status.in_reply_to_account_id)
            .where(Status.account_id == author.id, Status.deleted_at.is_(None))
            .order_by(Status.id.desc())
            .limit(RESTORED_STATUSES)
        )
    ).all()
    followers = await local_follower_ids(session, author.id)
    boost_followers = await local_follower_ids(session, author.id, reblogs_only=True)
    mentions = await session.execute(
        select(Mention.status_id, Mention.account_id)
        .join(Account, Account.id == Mention.account_id)
        .where(Mention.status_id.in_([status.id for status in statuses]), Account.domain.is_(None))
    )
    mentioned: dict[int, list[int]] = {}
    for status_id, account_id in mentions:
        mentioned.setdefault(status_id, []).append(account_id)
    everyone = {*followers, *(reader for readers in mentioned.values() for reader in readers)}
    excluded = await _blocked_or_muting(session, list(everyone - {author.id}), author.id)
    rows = [
        {"account_id": reader, "status_id": status.id}
        for status in statuses
        for reader in _home_readers(
            author,
            status.visibility,
            boost_followers if status.reblog_of_id is not None else followers,
            mentioned.get(status.id, []) if status.reblog_of_id is None else [],
        )
        - excluded
    ]
    if rows:
        connection = await session.connection()
        await connection.execute(_insert_ignore(connection.dialect.name, HomeFeedEntry), rows)
    await add_to_list_feeds(
        session,
        [
            ListedStatus(status.id, author.id, status.visibility, status.in_reply_to_account_id)
            for status in statuses
        ],
        _excluded_pairs,
    )


async def fan_out_status(session: AsyncSession, status: Status, author: Account) -> list[Event]:
    """Write home-feed rows and mention notifications for a new status (or boost) by `author`.

    Who sees it: the author (if local), local followers for public/unlisted/private posts (boosts only to
    followers who show boosts), mentioned local accounts (for every visibility, including direct), and for
    a public original by an author not silenced, the local followers of its hashtags. Readers who block or
    mute the author are left out. A direct status also enters its readers' conversations.
    """
    events: list[Event] = []
    followers = await local_follower_ids(session, author.id, reblogs_only=status.reblog_of_id is not None)
    mentioned = await local_mentioned_ids(session, status.id) if status.reblog_of_id is None else []
    readers = _home_readers(author, status.visibility, followers, mentioned)
    if reaches_tag_followers(
        status.visibility, status.reblog_of_id is not None, author.silenced_at is not None
    ):
        names = await tag_names(session, status.id)
        everyone_mentioned = await _mentioned_ids(session, status.id)
        followers_by_tag = await tag_follower_ids(session, names)
        readers |= await _tag_readers(session, followers_by_tag, names, author.id, everyone_mentioned)
    excluded = await _blocked_or_muting(session, list(readers - {author.id}), author.id)
    if status.reblog_of_id is not None:  # a boost also skips those who mute or block the boosted author
        boosted_author_id = await session.scalar(
            select(Status.account_id).where(Status.id == status.reblog_of_id)
        )
        if boosted_author_id is not None:
            others = list(readers - {author.id, boosted_author_id})
            excluded |= await _blocked_or_muting(session, others, boosted_author_id)
    readers -= excluded
    readers -= {reader for reader, _ in await exclusive_pairs(session, readers - {author.id}, {author.id})}
    await add_to_home_feeds(session, list(readers), status.id)
    for reader in readers:
        events.append(Event(topic=f"user:{reader}", kind="update", payload={"status_id": status.id}))
    if status.visibility == "direct" and status.reblog_of_id is None:
        participants = frozenset({author.id, *await _mentioned_ids(session, status.id)})
        await add_to_conversations(
            session,
            [
                DirectMessage(reader, thread_key(status), participants, status.id, author.id)
                for reader in readers
            ],
        )
        events += conversation_events(readers, status.id)
    listed = ListedStatus(status.id, author.id, status.visibility, status.in_reply_to_account_id)
    for list_id, _ in await add_to_list_feeds(session, [listed], _excluded_pairs):
        events.append(Event(topic=f"list:{list_id}", kind="update", payload={"status_id": status.id}))
    if status.visibility == "public" and status.reblog_of_id is None:
        events.append(Event(topic=PUBLIC_TOPIC, kind="update", payload={"status_id": status.id}))
    unnotified = (
        await _blocked_or_muting(session, mentioned, author.id, notifications=True) if mentioned else set()
    )
    for account_id in mentioned:
        if account_id != author.id and account_id not in unnotified:
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
    sender, blocks/mutes the sender, or muted the thread of the status."""
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
    notification = Notification(
        account_id=recipient_id,
        from_account_id=from_account_id,
        notification_type=notification_type,
        status_id=status_id,
    )
    session.add(notification)
    await session.flush()
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


@dataclass(frozen=True)
class NewRemoteStatus:
    """A remote status about to be inserted, as the batched fan-out needs it."""

    author_id: int
    visibility: str
    mention_account_ids: Sequence[int]
    author_silenced: bool = False  # then only local followers are notified, and no public stream carries it
    thread: str = (
        ""  # its conversation's key (`storage.conversation_mutes.thread_key`): a muted one notifies none
    )
    hashtags: Sequence[str] = ()  # a public one also reaches the local followers of these


@dataclass(frozen=True)
class RemoteAudience:
    """Who gets a new remote status: home-feed readers and accounts notified of a mention."""

    author_id: int
    public: bool
    readers: frozenset[int]
    notified: tuple[int, ...]
    # For a direct status: its thread and everyone in it, for its readers' conversations.
    conversation: tuple[str, frozenset[int]] | None = None


async def _local_followers(
    session: AsyncSession, author_ids: set[int]
) -> tuple[dict[int, set[int]], dict[int, set[int]]]:
    """Per author: local followers who see its posts (not suspended), and every local follower."""
    rows = await session.execute(
        select(Follow.target_account_id, Follow.account_id, Account.suspended_at)
        .join(Account, Account.id == Follow.account_id)
        .where(Follow.target_account_id.in_(author_ids), Account.domain.is_(None))
    )
    readers: dict[int, set[int]] = {}
    followers: dict[int, set[int]] = {}
    for author_id, follower_id, suspended_at in rows:
        followers.setdefault(author_id, set()).add(follower_id)
        if suspended_at is None:
            readers.setdefault(author_id, set()).add(follower_id)
    return readers, followers


async def _excluded_pairs(
    session: AsyncSession, reader_ids: set[int], author_ids: set[int], *, notifications: bool = False
) -> set[tuple[int, int]]:
    """(reader, author) pairs where the reader blocks or mutes the author, or the author blocks the reader
    (`notifications`: counting only the mutes that hide notifications, for whom to notify)."""
    if not reader_ids:
        return set()
    mutes = (mute_in_force(), Mute.notifications.is_(True)) if notifications else (mute_in_force(),)
    blockers = select(Block.account_id, Block.target_account_id).where(
        Block.account_id.in_(reader_ids), Block.target_account_id.in_(author_ids)
    )
    blocked = select(Block.target_account_id, Block.account_id).where(
        Block.account_id.in_(author_ids), Block.target_account_id.in_(reader_ids)
    )
    muters = select(Mute.account_id, Mute.target_account_id).where(
        Mute.account_id.in_(reader_ids), Mute.target_account_id.in_(author_ids), *mutes
    )
    domain_blockers = (
        select(AccountDomainBlock.account_id, Account.id)
        .join(Account, Account.domain == AccountDomainBlock.domain)
        .where(AccountDomainBlock.account_id.in_(reader_ids), Account.id.in_(author_ids))
    )
    rows = await session.execute(blockers.union(blocked, muters, domain_blockers))
    return {(reader, author) for reader, author in rows}


async def _muted_threads(
    session: AsyncSession, account_ids: set[int], threads: set[str]
) -> set[tuple[int, str]]:
    """(account, thread) pairs among these where the account muted the thread."""
    threads.discard("")
    if not account_ids or not threads:
        return set()
    rows = await session.execute(
        select(ConversationMute.account_id, ConversationMute.conversation).where(
            ConversationMute.account_id.in_(account_ids), ConversationMute.conversation.in_(threads)
        )
    )
    return {(account_id, thread) for account_id, thread in rows}


async def remote_audiences(
    session: AsyncSession, statuses: Sequence[NewRemoteStatus]
) -> list[RemoteAudience]:
    """The audience of each new remote status (not a boost), by `fan_out_status`'s rule, in four reads for
    the whole batch: local followers see public, unlisted and private posts; mentioned local accounts see
    every post and are notified; readers who block or mute the author (or whom it blocks) are left out. A
    silenced author notifies only local accounts that follow it.

    Only reads, so it can run before the write transaction (`fan_out_remote_statuses`) on a read session."""
    if not statuses:
        return []
    author_ids = {status.author_id for status in statuses}
    mentioned_ids = {account_id for status in statuses for account_id in status.mention_account_ids}
    local_mentioned: set[int] = set()
    if mentioned_ids:
        local_mentioned = set(
            (
                await session.execute(
                    select(Account.id).where(Account.id.in_(mentioned_ids), Account.domain.is_(None))
                )
            ).scalars()
        )
    readers_of, followers_of = await _local_followers(session, author_ids)
    wide = [
        bool(status.hashtags) and reaches_tag_followers(status.visibility, False, status.author_silenced)
        for status in statuses
    ]
    tagged = {name for status, broad in zip(statuses, wide, strict=True) if broad for name in status.hashtags}
    tag_followers = await tag_follower_ids(session, tagged)
    drafts: list[tuple[NewRemoteStatus, set[int], list[int]]] = []
    every_reader: set[int] = set()
    for status, broad in zip(statuses, wide, strict=True):
        readers = set()
        if status.visibility in ("public", "unlisted", "private"):
            readers.update(readers_of.get(status.author_id, ()))
        if broad and tag_followers:
            readers |= await _tag_readers(
                session, tag_followers, status.hashtags, status.author_id, status.mention_account_ids
            )
        mentioned = [
            account_id
            for account_id in dict.fromkeys(status.mention_account_ids)
            if account_id in local_mentioned
        ]
        readers.update(mentioned)
        every_reader.update(readers)
        drafts.append((status, readers, mentioned))
    excluded = await _excluded_pairs(session, every_reader - author_ids, author_ids)
    unnotified = await _excluded_pairs(session, local_mentioned - author_ids, author_ids, notifications=True)
    muted_threads = await _muted_threads(session, local_mentioned, {status.thread for status in statuses})
    audiences = []
    for status, readers, mentioned in drafts:
        author_id = status.author_id
        notified = tuple(
            account_id
            for account_id in mentioned
            if account_id != author_id
            and (account_id, author_id) not in unnotified
            and (account_id, status.thread) not in muted_threads
            and (not status.author_silenced or account_id in followers_of.get(author_id, ()))
        )
        audiences.append(
            RemoteAudience(
                author_id=author_id,
                public=status.visibility == "public" and not status.author_silenced,
                readers=frozenset(
                    reader for reader in readers if reader == author_id or (reader, author_id) not in excluded
                ),
                notified=notified,
                conversation=(status.thread, frozenset({author_id, *status.mention_account_ids}))
                if status.visibility == "direct"
                else None,
            )
        )
    return audiences


async def fan_out_remote_statuses(
    session: AsyncSession, placed: Sequence[tuple[int, RemoteAudience]]
) -> list[Event]:
    """Write the home-feed rows and mention notifications of inserted remote statuses (status id, audience
    from `remote_audiences`): two statements for the whole batch. Returns the events to publish."""
    feed_rows: list[dict[str, int]] = []
    notification_rows: list[dict[str, Any]] = []
    events: list[Event] = []
    exclusive = await exclusive_pairs(
        session,
        {reader for _, audience in placed for reader in audience.readers},
        {audience.author_id for _, audience in placed},
    )
    direct_messages: list[DirectMessage] = []
    for status_id, audience in placed:
        readers = [reader for reader in audience.readers if (reader, audience.author_id) not in exclusive]
        feed_rows.extend({"account_id": reader, "status_id": status_id} for reader in readers)
        if audience.conversation is not None:
            thread, participants = audience.conversation
            direct_messages.extend(
                DirectMessage(reader, thread, participants, status_id, audience.author_id)
                for reader in readers
            )
            events += conversation_events(readers, status_id)
        events.extend(
            Event(topic=f"user:{reader}", kind="update", payload={"status_id": status_id})
            for reader in readers
        )
        if audience.public:
            events.append(Event(topic=PUBLIC_TOPIC, kind="update", payload={"status_id": status_id}))
        for account_id in audience.notified:
            notification_id = new_id()
            notification_rows.append(
                {
                    "id": notification_id,
                    "account_id": account_id,
                    "from_account_id": audience.author_id,
                    "notification_type": "mention",
                    "status_id": status_id,
                    "created_at": utcnow(),
                }
            )
            events.append(
                Event(
                    topic=f"user:{account_id}",
                    kind="notification",
                    payload={"notification_id": notification_id},
                )
            )
    events += await _fan_out_to_lists(session, [status_id for status_id, _ in placed])
    connection = await session.connection()
    if feed_rows:
        await connection.execute(_insert_ignore(connection.dialect.name, HomeFeedEntry), feed_rows)
    if notification_rows:
        await connection.execute(_insert(connection.dialect.name, Notification), notification_rows)
        await enqueue_pushes(
            session, [(row["account_id"], row["id"], row["notification_type"]) for row in notification_rows]
        )
    await add_to_conversations(session, direct_messages)
    return events


def _insert(dialect_name: str, table: type) -> Any:
    return (postgresql.insert if dialect_name == "postgresql" else sqlite.insert)(table)


async def _fan_out_to_lists(session: AsyncSession, status_ids: list[int]) -> list[Event]:
    """List feed rows of inserted remote statuses (read back for what the list rules need)."""
    if not status_ids:
        return []
    rows = await session.execute(
        select(Status.id, Status.account_id, Status.visibility, Status.in_reply_to_account_id).where(
            Status.id.in_(status_ids)
        )
    )
    listed = await add_to_list_feeds(session, [ListedStatus(*row) for row in rows], _excluded_pairs)
    return [
        Event(topic=f"list:{list_id}", kind="update", payload={"status_id": status_id})
        for list_id, status_id in listed
    ]
