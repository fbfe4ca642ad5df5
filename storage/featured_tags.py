"""Featured hashtags: the hashtags a local account shows on its profile (at most `MAX_FEATURED_TAGS`).

Their counts are read, never stored, by Mastodon's definition (`FeaturedTag#reset_data`): the account's
public and unlisted original statuses carrying the hashtag, not deleted, and the newest one's time.
Mastodon keeps them as counters it bumps on every post; read on demand (at most ten hashtags, one indexed
statement) they cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import FeaturedTag, Status, StatusTag, Tag
from storage.tags import COUNTED_VISIBILITIES

MAX_FEATURED_TAGS = 10  # Mastodon's FeaturedTag::LIMIT
SUGGESTIONS = 10  # Mastodon suggests the ten hashtags used most in the account's recent statuses
RECENT_STATUSES = 1000  # … among its last thousand


@dataclass(frozen=True)
class FeaturedTagView:
    """A featured hashtag with its counts, as the API and the `featuredTags` collection show it."""

    id: int
    tag_id: int
    name: str  # the stored (lower-case) hashtag name
    display_name: str  # as the account typed it
    statuses_count: int
    last_status_at: datetime | None


async def featured_tags_of(session: AsyncSession, account_id: int) -> list[FeaturedTagView]:
    """An account's featured hashtags, oldest first (as Mastodon lists them), with their counts."""
    counted = (
        select(
            StatusTag.tag_id,
            func.count(Status.id).label("statuses_count"),
            func.max(Status.created_at).label("last_status_at"),
        )
        .join(Status, Status.id == StatusTag.status_id)
        .where(
            Status.account_id == account_id,
            Status.visibility.in_(COUNTED_VISIBILITIES),
            Status.reblog_of_id.is_(None),
            Status.deleted_at.is_(None),
            StatusTag.tag_id.in_(select(FeaturedTag.tag_id).where(FeaturedTag.account_id == account_id)),
        )
        .group_by(StatusTag.tag_id)
        .subquery()
    )
    rows = await session.execute(
        select(FeaturedTag, Tag.name, counted.c.statuses_count, counted.c.last_status_at)
        .join(Tag, Tag.id == FeaturedTag.tag_id)
        .outerjoin(counted, counted.c.tag_id == FeaturedTag.tag_id)
        .where(FeaturedTag.account_id == account_id)
        .order_by(FeaturedTag.id)
    )
    return [
        FeaturedTagView(featured.id, featured.tag_id, name, featured.display_name, count or 0, last)
        for featured, name, count, last in rows
    ]


async def featured_tag_by_id(session: AsyncSession, account_id: int, featured_id: int) -> FeaturedTag | None:
    """One of the account's featured hashtags by its id (another account's is None)."""
    featured = await session.get(FeaturedTag, featured_id)
    return featured if featured is not None and featured.account_id == account_id else None


async def featured_tag_of(session: AsyncSession, account_id: int, tag_id: int) -> FeaturedTag | None:
    """The account's featuring of that hashtag, if it features it."""
    statement = select(FeaturedTag).where(FeaturedTag.account_id == account_id, FeaturedTag.tag_id == tag_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def count_featured_tags(session: AsyncSession, account_id: int) -> int:
    """How many hashtags the account features."""
    count = await session.scalar(select(func.count()).where(FeaturedTag.account_id == account_id))
    return int(count or 0)


async def remove_featured_tag(session: AsyncSession, featured: FeaturedTag) -> None:
    """Stop featuring a hashtag."""
    await session.execute(delete(FeaturedTag).where(FeaturedTag.id == featured.id))


async def suggested_tags(session: AsyncSession, account_id: int) -> list[Tag]:
    """The hashtags used most in the account's last `RECENT_STATUSES` statuses, not featured yet (Mastodon's
    `Tag.recently_used`)."""
    recent = (
        select(Status.id)
        .where(Status.account_id == account_id, Status.deleted_at.is_(None), Status.reblog_of_id.is_(None))
        .order_by(Status.id.desc())
        .limit(RECENT_STATUSES)
        .subquery()
    )
    uses = func.count(StatusTag.status_id)
    rows = await session.execute(
        select(Tag)
        .join(StatusTag, StatusTag.tag_id == Tag.id)
        .where(
            StatusTag.status_id.in_(select(recent.c.id)),
            Tag.id.not_in(select(FeaturedTag.tag_id).where(FeaturedTag.account_id == account_id)),
        )
        .group_by(Tag.id)
        .order_by(uses.desc(), Tag.id)
        .limit(SUGGESTIONS)
    )
    return list(rows.scalars())
