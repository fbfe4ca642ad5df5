"""Muted threads: a local account stops getting notifications about the statuses of one conversation
(Mastodon's "mute conversation"). Local only, never federated; nothing leaves any timeline."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ConversationMute, Status


def thread_key(status: Status) -> str:
    """The key of the conversation a status belongs to: the thread's `conversation` (replies carry their
    root's), else the status's own URI (it is the root)."""
    return status.conversation_uri or status.uri


def thread_key_column() -> Any:
    """`thread_key` as an SQL expression over the statuses table."""
    return func.coalesce(Status.conversation_uri, Status.uri)


async def mute_conversation(session: AsyncSession, account_id: int, status: Status) -> None:
    """Mute the thread of `status` for `account_id`; muting it again changes nothing."""
    key = thread_key(status)
    if not await session.scalar(select(exists().where(_muted(account_id, key)))):
        session.add(ConversationMute(account_id=account_id, conversation=key))
        await session.flush()


async def unmute_conversation(session: AsyncSession, account_id: int, status: Status) -> None:
    """Let the thread of `status` notify `account_id` again."""
    await session.execute(delete(ConversationMute).where(_muted(account_id, thread_key(status))))


def status_thread_muted(account_id: Any, status_id: Any) -> Any:
    """SQL condition: `account_id` muted the thread that status `status_id` belongs to."""
    key = select(thread_key_column()).where(Status.id == status_id).scalar_subquery()
    return exists().where(ConversationMute.account_id == account_id, ConversationMute.conversation == key)


def _muted(account_id: int, key: str) -> Any:
    return (ConversationMute.account_id == account_id) & (ConversationMute.conversation == key)
