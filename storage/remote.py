"""Writes of remote objects: upserting remote accounts, inserting remote statuses with their mentions,
hashtags and attachments, and keeping denormalised counters in step.

The values come from the converters in `webfinger.convert`; this module only knows rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.ids import new_id
from storage.models import Account, MediaAttachment, Mention, Status, StatusEdit, StatusTag, Tag
from storage.types import utcnow

# Columns a fresh actor document may change; counters and moderation state are ours.
ACCOUNT_DOCUMENT_COLUMNS = (
    "username",
    "url",
    "actor_type",
    "display_name",
    "note",
    "fields",
    "avatar_url",
    "header_url",
    "inbox_url",
    "shared_inbox_url",
    "outbox_url",
    "followers_url",
    "following_url",
    "featured_url",
    "public_key_id",
    "public_key_pem",
    "locked",
    "discoverable",
    "indexable",
    "bot",
    "also_known_as",
)


async def upsert_remote_account(
    session: AsyncSession, values: dict[str, Any], *, silenced: bool = False, suspended: bool = False
) -> Account:
    """Create or refresh the remote account with `values["uri"]`; moderation flags are set on creation."""
    account = (
        await session.execute(select(Account).where(Account.uri == values["uri"]))
    ).scalar_one_or_none()
    if account is None:
        account = Account(uri=values["uri"], domain=values["domain"], followers_count=0, following_count=0)
        account.silenced_at = utcnow() if silenced else None
        account.suspended_at = utcnow() if suspended else None
        session.add(account)
    for column in ACCOUNT_DOCUMENT_COLUMNS:
        if column in values:
            setattr(account, column, values[column])
    account.fetched_at = utcnow()
    await session.flush()
    return account


async def status_by_uri(session: AsyncSession, uri: str) -> Status | None:
    """The status (or tombstone) with this ActivityPub id."""
    return (await session.execute(select(Status).where(Status.uri == uri))).scalar_one_or_none()


async def bump(session: AsyncSession, column: Any, row_id: int | None, delta: int) -> None:
    """Add `delta` to a counter column of one row, never going below zero."""
    if row_id is None:
        return
    table = column.class_
    new_value: ColumnElement[int] = (
        func.max(column + delta, 0)
        if session.bind.dialect.name == "sqlite"
        else func.greatest(column + delta, 0)
    )
    await session.execute(update(table).where(table.id == row_id).values({column.key: new_value}))


async def _tag_ids(session: AsyncSession, names: Iterable[str]) -> list[int]:
    names = list(dict.fromkeys(names))
    if not names:
        return []
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    rows = [{"id": new_id(), "name": name, "created_at": utcnow()} for name in names]
    await session.execute(insert(Tag).on_conflict_do_nothing(index_elements=["name"]), rows)
    return list((await session.execute(select(Tag.id).where(Tag.name.in_(names)))).scalars())


async def link_status(
    session: AsyncSession,
    status: Status,
    *,
    mention_account_ids: Iterable[int],
    hashtags: Iterable[str],
    attachments: Iterable[dict[str, Any]],
) -> None:
    """Attach mentions, hashtags and media rows to a freshly flushed status."""
    for account_id in dict.fromkeys(mention_account_ids):
        session.add(Mention(status_id=status.id, account_id=account_id))
    for tag_id in await _tag_ids(session, hashtags):
        session.add(StatusTag(status_id=status.id, tag_id=tag_id))
    for attachment in attachments:
        session.add(MediaAttachment(account_id=status.account_id, status_id=status.id, **attachment))
    await session.flush()


async def insert_tombstone(session: AsyncSession, uri: str, account_id: int) -> Status:
    """A deleted placeholder for an object we never had, so a later `Create` of it is ignored."""
    status = Status(uri=uri, account_id=account_id, deleted_at=utcnow(), visibility="direct")
    session.add(status)
    await session.flush()
    return status


async def record_edit(session: AsyncSession, status: Status, media: list[Any]) -> None:
    """Keep the current revision of a status in its edit history (before it is overwritten)."""
    session.add(
        StatusEdit(
            status_id=status.id,
            content=status.content,
            spoiler_text=status.spoiler_text,
            sensitive=status.sensitive,
            media=media,
            created_at=status.edited_at or status.created_at,
        )
    )
    await session.flush()


async def has_edits(session: AsyncSession, status_id: int) -> bool:
    """Whether a status already has an edit history."""
    return (
        await session.execute(select(StatusEdit.id).where(StatusEdit.status_id == status_id).limit(1))
    ).first() is not None


async def status_id_for(session: AsyncSession, published: datetime | None) -> int:
    """A free time-sortable id for a remote status, back-dated to when it was published (never in the
    future). Back-dated ids share their millisecond with every status published then, and only 16 random
    bits tell them apart, so a taken id is drawn again."""
    if published is None or published >= utcnow():
        return new_id()
    for _ in range(8):
        candidate = new_id(published)
        if await session.get(Status, candidate) is None:
            return candidate
    return new_id()
