"""Direct-message conversations as each local participant sees them (Mastodon's AccountConversation).

A direct status, local or received, puts one row per local participant who gets it (its author if local,
and every mentioned local account that the fan-out lets it reach: blocks, mutes and domain blocks leave
one out, as they leave it out of home): one conversation per thread (`conversation_mutes.thread_key`) and
set of other participants, pointing at its newest status, unread for everyone but the status's author.
The rows are written by the fan-out (`storage.fanout`) in the status's transaction. Removing a
conversation deletes the row, so it shows again, unread, when the next message arrives. When a status is
deleted, a conversation that ended with it falls back to its newest remaining direct status of the thread
the owner wrote or was mentioned in, or goes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, delete, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.bus import Event
from storage.conversation_mutes import thread_key_column
from storage.ids import new_id
from storage.models import AccountConversation, Mention, Status


@dataclass(frozen=True)
class DirectMessage:
    """A direct status reaching one local participant: `participant_ids` are everyone in it (author and
    mentioned accounts, local or remote); the reader is left out of its own conversation's accounts."""

    reader_id: int
    thread: str
    participant_ids: frozenset[int]
    status_id: int
    author_id: int


def conversation_events(reader_ids: Iterable[int], status_id: int) -> list[Event]:
    """The `direct` stream's events for readers whose conversations a status just moved (published after
    commit; the stream reads the conversation then)."""
    return [
        Event(topic=f"direct:{reader}", kind="conversation", payload={"status_id": status_id})
        for reader in reader_ids
    ]


async def conversation_at(
    session: AsyncSession, account_id: int, status_id: int
) -> AccountConversation | None:
    """The account's conversation whose newest status is `status_id`, if it still is."""
    statement = select(AccountConversation).where(
        AccountConversation.account_id == account_id, AccountConversation.last_status_id == status_id
    )
    return (await session.execute(statement)).scalars().first()


def _conversation_key(thread: str, others: Sequence[int]) -> str:
    return hashlib.sha256(f"{thread}\n{','.join(map(str, others))}".encode()).hexdigest()


async def add_to_conversations(session: AsyncSession, messages: Iterable[DirectMessage]) -> None:
    """Record direct statuses in their readers' conversations, in one statement: a new conversation is
    created; an existing one moves to the status when it is newer, and becomes unread unless the reader
    wrote it (an older status arriving late only adds its unread mark)."""
    rows = []
    for message in messages:
        others = sorted(message.participant_ids - {message.reader_id})
        rows.append(
            {
                "id": new_id(),
                "account_id": message.reader_id,
                "conversation_key": _conversation_key(message.thread, others),
                "conversation": message.thread,
                "participant_ids": others,
                "last_status_id": message.status_id,
                "unread": message.author_id != message.reader_id,
            }
        )
    if not rows:
        return
    connection = await session.connection()
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = insert(AccountConversation)
    incoming = statement.excluded
    newer = incoming.last_status_id > AccountConversation.last_status_id
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["account_id", "conversation_key"],
            set_={
                "last_status_id": case(
                    (newer, incoming.last_status_id), else_=AccountConversation.last_status_id
                ),
                "unread": case(
                    (newer, incoming.unread), else_=or_(AccountConversation.unread, incoming.unread)
                ),
            },
        ),
        rows,
    )


async def own_conversation(
    session: AsyncSession, account_id: int, conversation_id: int
) -> AccountConversation | None:
    """One of the account's conversations by id (another account's is None)."""
    row = await session.get(AccountConversation, conversation_id)
    return row if row is not None and row.account_id == account_id else None


async def remove_conversation(session: AsyncSession, conversation: AccountConversation) -> None:
    """Hide a conversation until its next message (the row goes; the statuses stay)."""
    await session.execute(delete(AccountConversation).where(AccountConversation.id == conversation.id))


async def _newest_remaining(
    session: AsyncSession, row: AccountConversation, gone: Sequence[int]
) -> int | None:
    """The newest direct status of the row's thread, not deleted nor among `gone`, that its owner wrote or
    was mentioned in (read through the owner's statuses and mentions, both indexed by account)."""
    in_thread: tuple[Any, ...] = (
        thread_key_column() == row.conversation,
        Status.visibility == "direct",
        Status.deleted_at.is_(None),
        Status.id.not_in(gone),
    )
    written = select(func.max(Status.id)).where(Status.account_id == row.account_id, *in_thread)
    mentioned = (
        select(func.max(Status.id))
        .join(Mention, Mention.status_id == Status.id)
        .where(Mention.account_id == row.account_id, *in_thread)
    )
    candidates = [await session.scalar(written), await session.scalar(mentioned)]
    found = [status_id for status_id in candidates if status_id is not None]
    return max(found) if found else None


async def forget_deleted_statuses(session: AsyncSession, status_ids: Sequence[int]) -> None:
    """Deleted statuses leave the conversations they ended: each falls back to its newest remaining status,
    or goes when none is left."""
    if not status_ids:
        return
    rows = (
        await session.execute(
            select(AccountConversation).where(AccountConversation.last_status_id.in_(status_ids))
        )
    ).scalars()
    for row in list(rows):
        newest = await _newest_remaining(session, row, status_ids)
        if newest is None:
            await session.delete(row)
        else:
            row.last_status_id = newest
    await session.flush()
