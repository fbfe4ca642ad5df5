"""Queries and writes on the status aggregate (statuses, mentions, tags, media, edits, favourites)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.media import PROFILE_IMAGE_SIZES
from storage.models import (
    Account,
    Block,
    Favourite,
    Follow,
    MediaAttachment,
    Mention,
    Status,
    StatusTag,
    Tag,
)

VISIBILITIES = ("public", "unlisted", "private", "direct")


async def status_by_id(session: AsyncSession, status_id: int) -> Status | None:
    """The status with this id (deleted ones included: callers decide what a tombstone means to them)."""
    return await session.get(Status, status_id)


async def status_by_uri(session: AsyncSession, uri: str) -> Status | None:
    """The status whose ActivityPub id is `uri`, or None."""
    return (await session.execute(select(Status).where(Status.uri == uri))).scalar_one_or_none()


async def mentioned_accounts(session: AsyncSession, status_id: int) -> list[Account]:
    """Accounts a status mentions, in mention order."""
    statement = (
        select(Account).join(Mention, Mention.account_id == Account.id).where(Mention.status_id == status_id)
    )
    return list((await session.execute(statement.order_by(Mention.id))).scalars())


async def tag_names(session: AsyncSession, status_id: int) -> list[str]:
    """The hashtags (lower-cased, without '#') of a status."""
    statement = (
        select(Tag.name).join(StatusTag, StatusTag.tag_id == Tag.id).where(StatusTag.status_id == status_id)
    )
    return sorted((await session.execute(statement)).scalars())


async def media_of(session: AsyncSession, status_id: int) -> list[MediaAttachment]:
    """The attachments of a status, in the order they were attached."""
    statement = select(MediaAttachment).where(MediaAttachment.status_id == status_id)
    return list((await session.execute(statement.order_by(MediaAttachment.id))).scalars())


def _insert_ignore(session: AsyncSession, table: type) -> object:
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing()


async def set_tags(session: AsyncSession, status_id: int, names: Iterable[str]) -> None:
    """Make the status's hashtags exactly `names` (created on first use)."""
    wanted = sorted({name.lower() for name in names})
    await session.execute(StatusTag.__table__.delete().where(StatusTag.status_id == status_id))
    if not wanted:
        return
    await session.execute(_insert_ignore(session, Tag), [{"name": name} for name in wanted])  # type: ignore[arg-type]
    tag_ids = (await session.execute(select(Tag.id).where(Tag.name.in_(wanted)))).scalars()
    await session.execute(
        _insert_ignore(session, StatusTag),  # type: ignore[arg-type]
        [{"status_id": status_id, "tag_id": tag_id} for tag_id in tag_ids],
    )


async def add_mentions(session: AsyncSession, status_id: int, account_ids: Iterable[int]) -> None:
    """Record mentions of `account_ids` by a status (existing ones kept)."""
    rows = [{"status_id": status_id, "account_id": account_id} for account_id in dict.fromkeys(account_ids)]
    if rows:
        await session.execute(_insert_ignore(session, Mention), rows)  # type: ignore[arg-type]


async def attach_media(
    session: AsyncSession,
    status_id: int,
    account_id: int,
    media_ids: Sequence[int],
    *,
    scheduled_status_id: int | None = None,
) -> list[MediaAttachment]:
    """Attach the author's unattached (or already this status's) media; returns those found, in order.
    Media held by a scheduled status are only for it (`scheduled_status_id`, when it is published)."""
    if not media_ids:
        return []
    held_by = MediaAttachment.scheduled_status_id
    statement = select(MediaAttachment).where(
        MediaAttachment.id.in_(media_ids),
        MediaAttachment.account_id == account_id,
        or_(MediaAttachment.status_id.is_(None), MediaAttachment.status_id == status_id),
        MediaAttachment.media_type.not_in(tuple(PROFILE_IMAGE_SIZES)),  # an avatar is no attachment
        held_by.is_(None)
        if scheduled_status_id is None
        else or_(held_by.is_(None), held_by == scheduled_status_id),
    )
    found = {media.id: media for media in (await session.execute(statement)).scalars()}
    ordered = [found[media_id] for media_id in media_ids if media_id in found]
    for media in ordered:
        media.status_id = status_id
        media.scheduled_status_id = None
    return ordered


async def detach_media_except(session: AsyncSession, status_id: int, keep_ids: Sequence[int]) -> None:
    """Detach the status's media that are not in `keep_ids` (an edit that removed them)."""
    await session.execute(
        update(MediaAttachment)
        .where(MediaAttachment.status_id == status_id, MediaAttachment.id.not_in(list(keep_ids) or [0]))
        .values(status_id=None)
    )


async def add_to_counter(session: AsyncSession, model: type, row_id: int, column: str, delta: int) -> None:
    """Add `delta` to an integer counter column, never below zero, without reading the row first."""
    target = getattr(model, column)
    # SQLite's two-argument max() is PostgreSQL's greatest().
    floor = func.max if session.bind.dialect.name == "sqlite" else func.greatest
    await session.execute(
        update(model)
        .where(model.id == row_id)  # type: ignore[attr-defined]
        .values({column: floor(target + delta, 0)})
        .execution_options(synchronize_session=False)
    )


async def recount_status_counters(session: AsyncSession, status_ids: Iterable[int]) -> None:
    """Recompute favourites_count, reblogs_count and replies_count of the statuses from the rows that remain
    (after rows pointing at them were removed in bulk)."""
    ids = list(set(status_ids))
    if not ids:
        return
    other = aliased(Status)
    await session.execute(
        update(Status)
        .where(Status.id.in_(ids))
        .values(
            favourites_count=select(func.count()).where(Favourite.status_id == Status.id).scalar_subquery(),
            reblogs_count=select(func.count())
            .where(other.reblog_of_id == Status.id, other.deleted_at.is_(None))
            .scalar_subquery(),
            replies_count=select(func.count())
            .where(other.in_reply_to_id == Status.id, other.deleted_at.is_(None))
            .scalar_subquery(),
        )
        .execution_options(synchronize_session=False)
    )


async def favourite_of(session: AsyncSession, account_id: int, status_id: int) -> Favourite | None:
    """The account's favourite of a status, or None."""
    statement = select(Favourite).where(Favourite.account_id == account_id, Favourite.status_id == status_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def boost_of(session: AsyncSession, account_id: int, status_id: int) -> Status | None:
    """The account's live boost of a status, or None."""
    statement = select(Status).where(
        Status.account_id == account_id, Status.reblog_of_id == status_id, Status.deleted_at.is_(None)
    )
    return (await session.execute(statement)).scalars().first()


async def server_could_see(session: AsyncSession, domain: str, status: Status) -> bool:
    """Whether the server `domain` (the host its accounts are stored under) was allowed to see `status`:
    public and unlisted ones; followers-only ones when an account there follows the author; any one that
    mentions an account there. A report received from that server may cite only these (as Mastodon's
    ReportService keeps them), or it would confirm to it that a status it never saw exists."""
    if status.visibility in ("public", "unlisted"):
        return True
    on_domain = Account.domain == domain
    mentioned = exists().where(Mention.status_id == status.id, Mention.account_id == Account.id, on_domain)
    if await session.scalar(select(mentioned)):
        return True
    if status.visibility != "private":
        return False
    follower = exists().where(
        Follow.target_account_id == status.account_id, Follow.account_id == Account.id, on_domain
    )
    return bool(await session.scalar(select(follower)))


async def can_see(
    session: AsyncSession, viewer_id: int | None, status: Status, *, even_deleted: bool = False
) -> bool:
    """Whether `viewer_id` (None: anonymous) may see `status` by its visibility, mentions, follows and
    blocks (the author blocking the viewer hides everything but public posts from anonymous readers); nobody
    sees the posts of a suspended account.
    A deleted status is seen by nobody, unless `even_deleted` asks who could see it before (for its
    Tombstone)."""
    if status.deleted_at is not None and not even_deleted:
        return False
    author = await session.get(Account, status.account_id)  # usually already in the session
    if author is None or author.suspended_at is not None:
        return False  # a suspended account's posts are gone for everyone, as if they never were
    if viewer_id is not None and viewer_id == status.account_id:
        return True
    if viewer_id is not None:
        blocked = await session.scalar(
            select(
                exists().where(
                    or_(
                        and_(Block.account_id == status.account_id, Block.target_account_id == viewer_id),
                        and_(Block.account_id == viewer_id, Block.target_account_id == status.account_id),
                    )
                )
            )
        )
        if blocked:
            return False
    if status.visibility in ("public", "unlisted"):
        return True
    if viewer_id is None:
        return False
    mentioned = await session.scalar(
        select(exists().where(Mention.status_id == status.id, Mention.account_id == viewer_id))
    )
    if mentioned:
        return True
    if status.visibility == "private":
        return bool(
            await session.scalar(
                select(
                    exists().where(
                        Follow.account_id == viewer_id, Follow.target_account_id == status.account_id
                    )
                )
            )
        )
    return False


async def public_replies_page(
    session: AsyncSession, status_id: int, *, max_id: int | None, limit: int
) -> list[Status]:
    """Public and unlisted replies to a status, newest first, below `max_id`."""
    statement = select(Status).where(
        Status.in_reply_to_id == status_id,
        Status.visibility.in_(("public", "unlisted")),
        Status.deleted_at.is_(None),
    )
    if max_id is not None:
        statement = statement.where(Status.id < max_id)
    return list((await session.execute(statement.order_by(Status.id.desc()).limit(limit))).scalars())


async def boosts_of(session: AsyncSession, status_id: int) -> list[Status]:
    """Live boosts of a status (local and remote)."""
    statement = select(Status).where(Status.reblog_of_id == status_id, Status.deleted_at.is_(None))
    return list((await session.execute(statement)).scalars())
