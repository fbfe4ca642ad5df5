"""Fan-out on write: when a status or interaction lands, write the rows that local readers will see.

Home timelines (`home_feed`) and notifications are written in the same transaction as the status or
interaction that causes them; the returned `Event`s are published on the bus after commit (streaming).
Both paths — a local post (outbox) and a received activity (inbox) — use these functions, so a remote and
a local status reach a local reader the same way. Followed hashtags (`storage.tags`) add their local
followers to a public status's readers, and a direct status is recorded in its readers' conversations
(`storage.conversations`), on both paths. `storage.fanout_batch` applies the same rule to a batch of
new remote statuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.bus import Event
from storage.conversation_mutes import thread_key
from storage.conversations import DirectMessage, add_to_conversations, conversation_events
from storage.lists import ListedStatus, add_to_list_feeds, exclusive_pairs
from storage.models import (
    Account,
    AccountDomainBlock,
    Block,
    Follow,
    HomeFeedEntry,
    Mention,
    Mute,
    Status,
)
from storage.mutes import in_force as mute_in_force
from storage.notify import notify
from storage.statuses import tag_names
from storage.stream_events import PUBLIC_TOPIC
from storage.tags import tag_follower_ids

RESTORED_STATUSES = 400  # statuses put back into home and list feeds when an author's suspension is lifted


def insert_ignore(dialect_name: str, table: type) -> Any:
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


async def tag_readers(
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
        followers -= {reader for reader, _ in await excluded_pairs(session, followers, set(mentioned_ids))}
    return followers


async def _blocked_or_muting(
    session: AsyncSession, reader_ids: Sequence[int], author_id: int, *, notifications: bool = False
) -> set[int]:
    """Readers who block or mute the author, or whom the author blocks (`notifications`: counting only the
    mutes that hide notifications)."""
    pairs = await excluded_pairs(session, set(reader_ids), {author_id}, notifications=notifications)
    return {reader for reader, _ in pairs}


async def add_to_home_feeds(session: AsyncSession, reader_ids: list[int], status_id: int) -> None:
    """Insert one `home_feed` row per reader (duplicates ignored), in one statement."""
    if reader_ids:
        rows = [{"account_id": reader, "status_id": status_id} for reader in set(reader_ids)]
        connection = await session.connection()
        await connection.execute(insert_ignore(connection.dialect.name, HomeFeedEntry), rows)


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
        await connection.execute(insert_ignore(connection.dialect.name, HomeFeedEntry), rows)
    await add_to_list_feeds(
        session,
        [
            ListedStatus(status.id, author.id, status.visibility, status.in_reply_to_account_id)
            for status in statuses
        ],
        excluded_pairs,
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
        readers |= await tag_readers(session, followers_by_tag, names, author.id, everyone_mentioned)
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
    for list_id, _ in await add_to_list_feeds(session, [listed], excluded_pairs):
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


async def excluded_pairs(
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
