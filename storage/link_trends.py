"""Trending links: the preview cards shared by the most accounts in public statuses of the last days (local
and received), and the statuses that share one (Mastodon 4.3's link timeline).

As hashtags do (`storage.trends`), a link trends only once a moderator allowed its card (`trendable`; new
ones wait for review, as in Mastodon by default), and only statuses of authors who are neither silenced,
suspended nor undiscoverable count. Computed when asked.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Account, PreviewCard, Status, StatusCard
from storage.tags import TagUse, daily_uses
from storage.timelines import ListQuery, public_query
from storage.trends import trending_authors

LINK_WINDOW = timedelta(days=2)


@dataclass(frozen=True)
class LinkUseCount:
    card: PreviewCard
    accounts: int  # distinct authors sharing it in the window
    uses: int


async def link_use_counts(
    session: AsyncSession, *, now: datetime, reviewed_only: bool, limit: int, offset: int = 0
) -> list[LinkUseCount]:
    """Cards by how many accounts shared their link in public statuses of the window, most first; only those
    allowed to trend when `reviewed_only`, else every one not refused (the review list)."""
    recent = trending_authors(now - LINK_WINDOW).subquery()
    accounts = func.count(distinct(Status.account_id))
    statement = (
        select(PreviewCard, accounts, func.count(Status.id))
        .join(StatusCard, StatusCard.card_id == PreviewCard.id)
        .join(Status, Status.id == StatusCard.status_id)
        .where(Status.id.in_(select(recent.c.id)))
        .group_by(PreviewCard.id)
        .order_by(accounts.desc(), PreviewCard.id.desc())
        .limit(limit)
        .offset(offset)
    )
    statement = (
        statement.where(PreviewCard.trendable.is_(True))
        if reviewed_only
        else statement.where(PreviewCard.trendable.is_not(False))
    )
    rows = await session.execute(statement)
    return [LinkUseCount(card, int(count), int(uses)) for card, count, uses in rows]


async def card_histories(
    session: AsyncSession, card_ids: list[int], *, now: datetime
) -> dict[int, list[TagUse]]:
    """Per card, its use on each of the last seven days, today first (as a hashtag's week of use)."""
    return await daily_uses(session, StatusCard.card_id, StatusCard.status_id, card_ids, now=now)


async def allowed_card(session: AsyncSession, url: str) -> PreviewCard | None:
    """The card of `url` when a moderator allowed it to trend (the link timeline shows no other link)."""
    return (
        await session.execute(
            select(PreviewCard).where(PreviewCard.url == url, PreviewCard.trendable.is_(True))
        )
    ).scalar_one_or_none()


def link_query(card_id: int, viewer_id: int | None) -> ListQuery:
    """The public timeline narrowed to the statuses showing card `card_id` by discoverable authors (Mastodon
    4.3's link timeline lists only those who opted in to discovery)."""
    query = public_query(viewer_id=viewer_id)
    statement = (
        query.statement.join(StatusCard, StatusCard.status_id == Status.id)
        .where(StatusCard.card_id == card_id)
        .where(Account.discoverable.is_(True))
    )
    return replace(query, statement=statement, joined_columns=(StatusCard.status_id,))
