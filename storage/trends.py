"""What is trending here: hashtags used by the most accounts, and the statuses most favourited and boosted,
over the last days of public activity known to this server (local and received).

Only hashtags a moderator allowed trend (`tags.trendable`; new ones wait for review, as in Mastodon by
default); statuses trend unless a moderator refused them. Silenced, suspended and non-discoverable authors
never trend. Computed when asked: an indexed scan of a few days of statuses, small at the sizes Plein runs at.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.ids import id_floor
from storage.models import Account, Status, StatusTag, Tag
from storage.timelines import hidden_author

TAG_WINDOW = timedelta(days=2)
STATUS_WINDOW = timedelta(days=3)


@dataclass(frozen=True)
class TagUseCount:
    tag: Tag
    accounts: int  # distinct authors using it in the window
    uses: int


def trending_authors(since: datetime | None) -> Select[Any]:
    """The ids of public originals (since `since`, when given) by authors that may trend: neither silenced,
    suspended nor undiscoverable."""
    statement = (
        select(Status.id)
        .join(Account, Account.id == Status.account_id)
        .where(
            Status.visibility == "public",
            Status.deleted_at.is_(None),
            Status.reblog_of_id.is_(None),
            Account.suspended_at.is_(None),
            Account.silenced_at.is_(None),
            Account.discoverable.is_(True),
        )
    )
    if since is not None:
        statement = statement.where(Status.id >= id_floor(since), Status.created_at >= since)
    return statement


async def tag_use_counts(
    session: AsyncSession, *, now: datetime, reviewed_only: bool, limit: int, offset: int = 0
) -> list[TagUseCount]:
    """Hashtags by how many accounts used them in public statuses of the window, most first; only those
    allowed to trend when `reviewed_only`, else every one not refused (the review list)."""
    recent = trending_authors(now - TAG_WINDOW).subquery()
    accounts = func.count(distinct(Status.account_id))
    statement = (
        select(Tag, accounts, func.count(Status.id))
        .join(StatusTag, StatusTag.tag_id == Tag.id)
        .join(Status, Status.id == StatusTag.status_id)
        .where(Status.id.in_(select(recent.c.id)))
        .group_by(Tag.id)
        .order_by(accounts.desc(), Tag.name)
        .limit(limit)
        .offset(offset)
    )
    statement = (
        statement.where(Tag.trendable.is_(True))
        if reviewed_only
        else statement.where(Tag.trendable.is_not(False))
    )
    return [TagUseCount(tag, int(count), int(uses)) for tag, count, uses in await session.execute(statement)]


async def trending_statuses(
    session: AsyncSession, *, now: datetime, viewer_id: int | None, limit: int, offset: int = 0
) -> list[Status]:
    """Public statuses of the window with the most favourites and boosts (at least one), most first, without
    refused ones and without authors the viewer mutes or blocks."""
    score = Status.favourites_count + Status.reblogs_count
    statement = (
        select(Status)
        .where(Status.id.in_(trending_authors(now - STATUS_WINDOW)))
        .where(Status.trendable.is_not(False), score > 0)
        .order_by(score.desc(), Status.id.desc())
        .limit(limit)
        .offset(offset)
    )
    if viewer_id is not None:
        statement = statement.where(~hidden_author(viewer_id))
    return list((await session.execute(statement)).scalars())
