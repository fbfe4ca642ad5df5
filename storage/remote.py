"""Writes of remote objects: upserting remote accounts, inserting remote statuses with their mentions,
hashtags and attachments, and keeping denormalised counters in step.

The values come from the converters in `webfinger.convert`; this module only knows rows.
`insert_remote_statuses` stores a whole batch of statuses in a handful of statements (Core `executemany`,
not one ORM round trip per row): on SQLite every statement is a thread hand-off while holding the single
writer, so the inbox worker's throughput and the receive path's share of the writer depend on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.custom_emojis import upsert_remote_emojis
from storage.db import dialect_insert
from storage.ids import new_id
from storage.media import PROFILE_IMAGE_SIZES
from storage.media_cache import CACHED_TYPES, cache_job_rows
from storage.models import (
    Account,
    MediaAttachment,
    Mention,
    Poll,
    Quote,
    Status,
    StatusEdit,
    StatusTag,
    Tag,
)
from storage.polls import remote_poll_row
from storage.profile_jobs import (
    enqueue_featured_fetch,
    enqueue_image_caching,
    enqueue_link_verification,
    keep_verifications,
    needs_verification,
)
from storage.queue import insert_jobs
from storage.status_variants import Variant, variants_snapshot
from storage.types import utcnow

# Columns a fresh actor document may change; counters and moderation state are ours.
ACCOUNT_DOCUMENT_COLUMNS = (
    "username",
    "government_id",
    "government_website",
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
    "emojis",
    "attribution_domains",
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
    fields_changed = "fields" in values and _field_values(values["fields"]) != _field_values(account.fields)
    if "fields" in values:
        values = {**values, "fields": keep_verifications(values["fields"], account.fields or [])}
    images_changed = False
    for kind in PROFILE_IMAGE_SIZES:
        column = f"{kind}_url"
        if column in values and values[column] != getattr(account, column):
            setattr(account, f"{kind}_file", None)  # our copy is of the old image: show the new URL
            images_changed = True
    if "government_id" in values and values["government_id"] != account.government_id:
        # When we first accepted this mark from a trusted instance (webfinger.resolve / inbox set the values).
        account.government_verified_at = utcnow() if values["government_id"] else None
    for column in ACCOUNT_DOCUMENT_COLUMNS:
        if column in values:
            setattr(account, column, values[column])
    account.fetched_at = utcnow()
    await session.flush()
    if values.get("emojis"):
        await upsert_remote_emojis(session, values["domain"], values["emojis"])
    if images_changed:
        await enqueue_image_caching(session, account.id)
    if fields_changed and needs_verification(account.fields or [], local=False):
        await enqueue_link_verification(session, account.id)
    if account.featured_url and account.gone_at is None:
        await enqueue_featured_fetch(session, account.id)
    return account


def _field_values(fields: list[Any] | None) -> list[tuple[str, str]]:
    return [(str(f.get("name")), str(f.get("value"))) for f in fields or [] if isinstance(f, dict)]


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
    insert = dialect_insert(session.bind.dialect.name)
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


async def record_edit(
    session: AsyncSession, status: Status, media: list[Any], variants: Sequence[Variant] = ()
) -> None:
    """Keep the current revision of a status (with its other languages) in its edit history."""
    session.add(
        StatusEdit(
            status_id=status.id,
            content=status.content,
            spoiler_text=status.spoiler_text,
            sensitive=status.sensitive,
            media=media,
            variants=variants_snapshot(variants),
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


@dataclass
class RemoteStatusRow:
    """A remote status to insert: its `statuses` column values (without `id`) and what links to it."""

    values: dict[str, Any]
    published: datetime | None
    mention_account_ids: list[int] = field(default_factory=list)
    hashtags: list[str] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    poll: dict[str, Any] | None = None  # a `Question`'s poll (`storage.polls.remote_poll_row` values)
    quote: dict[str, Any] | None = None  # its `quotes` row values (without ids) when it quotes a status


def _distinct_ids(rows: Sequence[RemoteStatusRow], indexes: list[int], *, back_dated: bool) -> dict[int, int]:
    """A candidate id per row, back-dated to its publication (never in the future) and distinct in the batch."""
    now = utcnow()
    taken: set[int] = set()
    candidates: dict[int, int] = {}
    for index in indexes:
        published = rows[index].published
        when = published if back_dated and published is not None and published < now else None
        candidate = new_id(when)
        while candidate in taken:
            candidate = new_id(when)
        taken.add(candidate)
        candidates[index] = candidate
    return candidates


async def insert_remote_statuses(session: AsyncSession, rows: Sequence[RemoteStatusRow]) -> list[int | None]:
    """Insert remote statuses with their mentions, hashtags and attachments, and count them on their authors
    (and parents), in a few statements for the whole batch.

    Returns each row's new id, or None when its `uri` is stored already (a duplicate, the tombstone of an
    earlier `Delete`, or an earlier row of the same batch). Ids are back-dated to the publication time;
    only 16 random bits tell apart statuses published in the same millisecond, so a taken id is drawn again.
    """
    connection = await session.connection()
    insert = dialect_insert(connection.dialect.name)
    ids: list[int | None] = [None] * len(rows)
    first_of_uri: dict[str, int] = {}
    for index, row in enumerate(rows):
        first_of_uri.setdefault(row.values["uri"], index)
    pending = sorted(first_of_uri.values())
    for attempt in range(4):
        if not pending:
            break
        candidates = _distinct_ids(rows, pending, back_dated=attempt == 0)
        # No conflict target: a taken uri (duplicate) and a taken id (unlucky draw) are both skipped here
        # and told apart below.
        statement = insert(Status).on_conflict_do_nothing().returning(Status.id)
        result = await connection.execute(
            statement, [{**rows[index].values, "id": candidates[index]} for index in pending]
        )
        inserted = set(result.scalars())
        missing = []
        for index in pending:
            if candidates[index] in inserted:
                ids[index] = candidates[index]
            else:
                missing.append(index)
        if not missing:
            break
        stored = set(
            (
                await connection.execute(
                    select(Status.uri).where(Status.uri.in_([rows[index].values["uri"] for index in missing]))
                )
            ).scalars()
        )
        pending = [index for index in missing if rows[index].values["uri"] not in stored]
    await _link_statuses(connection, insert, rows, ids)
    await _count_statuses(connection, rows, ids)
    return ids


async def _link_statuses(
    connection: Any, insert: Any, rows: Sequence[RemoteStatusRow], ids: list[int | None]
) -> None:
    mentions: list[dict[str, Any]] = []
    media: list[dict[str, Any]] = []
    polls: list[dict[str, Any]] = []
    quotes: list[dict[str, Any]] = []
    tagged: list[tuple[int, str]] = []
    for row, status_id in zip(rows, ids, strict=True):
        if status_id is None:
            continue
        if row.quote is not None:
            now = utcnow()
            quotes.append(
                {
                    "id": new_id(),
                    "status_id": status_id,
                    "account_id": row.values["account_id"],
                    "created_at": now,
                    "updated_at": now,
                    **row.quote,
                }
            )
        if row.poll is not None:
            polls.append(remote_poll_row(status_id, row.values["account_id"], row.poll))
        for account_id in dict.fromkeys(row.mention_account_ids):
            mentions.append({"id": new_id(), "status_id": status_id, "account_id": account_id})
        for attachment in row.attachments:
            media.append(
                {
                    "id": new_id(),
                    "account_id": row.values["account_id"],
                    "status_id": status_id,
                    "created_at": utcnow(),
                    **attachment,
                }
            )
        tagged.extend((status_id, name) for name in dict.fromkeys(row.hashtags))
    if mentions:
        await connection.execute(insert(Mention).on_conflict_do_nothing(), mentions)
    if media:
        await connection.execute(insert(MediaAttachment), media)
        # Our copies of the files are fetched by a job queued in this transaction (storage.media_cache).
        by_status: dict[int, list[int]] = {}
        for row in media:
            if row.get("media_type") in CACHED_TYPES:
                by_status.setdefault(row["status_id"], []).append(row["id"])
        jobs = cache_job_rows(by_status.items())
        if jobs:
            await connection.run_sync(lambda sync_connection: insert_jobs(sync_connection, jobs))
    if polls:
        await connection.execute(insert(Poll), polls)
    if quotes:
        await connection.execute(insert(Quote), quotes)
    if tagged:
        names = list(dict.fromkeys(name for _, name in tagged))
        await connection.execute(
            insert(Tag).on_conflict_do_nothing(index_elements=["name"]),
            [{"id": new_id(), "name": name, "created_at": utcnow()} for name in names],
        )
        tag_ids = dict((await connection.execute(select(Tag.name, Tag.id).where(Tag.name.in_(names)))).all())
        await connection.execute(
            insert(StatusTag).on_conflict_do_nothing(),
            [{"status_id": status_id, "tag_id": tag_ids[name]} for status_id, name in tagged],
        )


async def _count_statuses(connection: Any, rows: Sequence[RemoteStatusRow], ids: list[int | None]) -> None:
    """statuses_count and last_status_at of each author, replies_count of each parent: one statement each."""
    authors: dict[int, tuple[int, datetime]] = {}
    parents: dict[int, int] = {}
    for row, status_id in zip(rows, ids, strict=True):
        if status_id is None:
            continue
        author_id, created_at = row.values["account_id"], row.values["created_at"]
        count, latest = authors.get(author_id, (0, created_at))
        authors[author_id] = (count + 1, max(latest, created_at))
        parent_id = row.values.get("in_reply_to_id")
        if parent_id is not None:
            parents[parent_id] = parents.get(parent_id, 0) + 1
    accounts = Account.__table__
    if authors:
        await connection.execute(
            update(accounts)
            .where(accounts.c.id == bindparam("author_id"))
            .values(
                statuses_count=accounts.c.statuses_count + bindparam("added"),
                last_status_at=bindparam("latest"),
            ),
            [
                {"author_id": author_id, "added": count, "latest": latest}
                for author_id, (count, latest) in authors.items()
            ],
        )
    statuses = Status.__table__
    if parents:
        await connection.execute(
            update(statuses)
            .where(statuses.c.id == bindparam("parent_id"))
            .values(replies_count=statuses.c.replies_count + bindparam("added")),
            [{"parent_id": parent_id, "added": count} for parent_id, count in parents.items()],
        )
