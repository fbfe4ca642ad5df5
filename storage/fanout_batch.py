"""The batched fan-out of received statuses: `storage.fanout.fan_out_status`'s rule for a batch of new
remote statuses, split in reads (`remote_audiences`, which can run before the write transaction, on a read
session) and a few writes for the whole batch (`fan_out_remote_statuses`): home-feed and list-feed rows,
mention notifications (with their pushes), followed hashtags' readers and direct-message conversations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.bus import Event
from storage.conversations import DirectMessage, add_to_conversations, conversation_events
from storage.fanout import excluded_pairs, insert_ignore, reaches_tag_followers, tag_readers
from storage.ids import new_id
from storage.lists import ListedStatus, add_to_list_feeds, exclusive_pairs
from storage.models import (
    Account,
    ConversationMute,
    Follow,
    HomeFeedEntry,
    Notification,
    Status,
)
from storage.notification_policy import Candidate, notification_verdicts
from storage.notification_requests import hold_in_requests
from storage.push import enqueue_pushes
from storage.stream_events import PUBLIC_TOPIC
from storage.tags import tag_follower_ids
from storage.types import utcnow


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
    in_reply_to_uri: str | None = None  # for the policy on private mentions (`storage.notification_policy`)


@dataclass(frozen=True)
class RemoteAudience:
    """Who gets a new remote status: home-feed readers, accounts notified of a mention, and accounts whose
    notification policy filters the mention (stored held back, in a notification request)."""

    author_id: int
    public: bool
    readers: frozenset[int]
    notified: tuple[int, ...]
    filtered: tuple[int, ...] = ()
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
    """The audience of each new remote status (not a boost), by `fan_out_status`'s rule, in a few reads for
    the whole batch: local followers see public, unlisted and private posts; mentioned local accounts see
    every post and are notified; readers who block or mute the author (or whom it blocks) are left out. A
    silenced author notifies only local accounts that follow it. Each mention is then judged by its
    recipient's notification policy (`storage.notification_policy`): notified, filtered or dropped.

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
            readers |= await tag_readers(
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
    excluded = await excluded_pairs(session, every_reader - author_ids, author_ids)
    unnotified = await excluded_pairs(session, local_mentioned - author_ids, author_ids, notifications=True)
    muted_threads = await _muted_threads(session, local_mentioned, {status.thread for status in statuses})
    notified_of = [
        [
            account_id
            for account_id in mentioned
            if account_id != status.author_id
            and (account_id, status.author_id) not in unnotified
            and (account_id, status.thread) not in muted_threads
            and (not status.author_silenced or account_id in followers_of.get(status.author_id, ()))
        ]
        for status, _, mentioned in drafts
    ]
    candidates = [
        Candidate(account_id, status.author_id, "mention", status.visibility, None, status.in_reply_to_uri)
        for (status, _, _), accounts in zip(drafts, notified_of, strict=True)
        for account_id in accounts
    ]
    verdicts = iter(await notification_verdicts(session, candidates))
    audiences = []
    for (status, readers, _), accounts in zip(drafts, notified_of, strict=True):
        author_id = status.author_id
        judged = [(account_id, next(verdicts)) for account_id in accounts]
        notified = tuple(account_id for account_id, verdict in judged if verdict == "accept")
        audiences.append(
            RemoteAudience(
                author_id=author_id,
                public=status.visibility == "public" and not status.author_silenced,
                readers=frozenset(
                    reader for reader in readers if reader == author_id or (reader, author_id) not in excluded
                ),
                notified=notified,
                filtered=tuple(account_id for account_id, verdict in judged if verdict == "filter"),
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
    from `remote_audiences`): two statements for the whole batch, and the requests of filtered mentions.
    Returns the events to publish."""
    feed_rows: list[dict[str, int]] = []
    notification_rows: list[dict[str, Any]] = []
    held: list[tuple[int, int, int | None]] = []
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
        for account_id in (*audience.notified, *audience.filtered):
            notification_id = new_id()
            filtered = account_id in audience.filtered
            notification_rows.append(
                {
                    "id": notification_id,
                    "account_id": account_id,
                    "from_account_id": audience.author_id,
                    "notification_type": "mention",
                    "status_id": status_id,
                    "group_key": None,  # mentions are never grouped
                    "filtered": filtered,
                    "created_at": utcnow(),
                }
            )
            if filtered:  # held back: not streamed nor pushed, waiting in the sender's request
                held.append((account_id, audience.author_id, status_id))
                continue
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
        await connection.execute(insert_ignore(connection.dialect.name, HomeFeedEntry), feed_rows)
    if notification_rows:
        await connection.execute(_insert(connection.dialect.name, Notification), notification_rows)
        await enqueue_pushes(
            session,
            [
                (row["account_id"], row["id"], row["notification_type"])
                for row in notification_rows
                if not row["filtered"]
            ],
        )
    await add_to_conversations(session, direct_messages)
    await hold_in_requests(session, held)
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
    listed = await add_to_list_feeds(session, [ListedStatus(*row) for row in rows], excluded_pairs)
    return [
        Event(topic=f"list:{list_id}", kind="update", payload={"status_id": status_id})
        for list_id, status_id in listed
    ]
