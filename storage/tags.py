"""Hashtags as a reader meets them: finding one by name, its week of use, and local accounts following it.

A followed hashtag feeds its follower's home as in Mastodon 4: a public status carrying it (local or
received, from an author neither silenced nor blocked, muted or domain-blocked by the follower) gets a
`home_feed` row at fan-out (`storage.fanout`); unfollowing takes back the statuses that came only through
hashtags. Follows are local and never federated.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, distinct, exists, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from apub.hashtags import MAX_NAME_LENGTH, is_hashtag_name, normalize_hashtag
from storage.ids import id_floor, new_id
from storage.models import (
    Account,
    FeaturedTag,
    Follow,
    HomeFeedEntry,
    Mention,
    Status,
    StatusTag,
    Tag,
    TagFollow,
)
from storage.timelines import ListQuery
from storage.types import utcnow

HISTORY_DAYS = 7  # Mastodon's Tag history covers the past week, today first
COUNTED_VISIBILITIES = ("public", "unlisted")
DELETE_BATCH = 1000  # feed rows deleted per statement (bound parameters stay far below the drivers' limits)  # what Mastodon counts as a use (`Status#distributable?`)


def tag_name_from_input(text: str) -> str | None:
    """The stored name of a hashtag a client named (with or without '#'), or None when it is no valid name
    (Mastodon answers such a name with 404 or 422)."""
    folded = unicodedata.normalize("NFKC", text.removeprefix("#")).lower()
    if len(folded) > MAX_NAME_LENGTH or not is_hashtag_name(folded):
        return None
    return normalize_hashtag(folded)


def display_name_for(text: str, name: str) -> str:
    """How to show hashtag `name` as the client typed it (`text`): its case kept when it is the same name,
    else the name itself."""
    typed = text.removeprefix("#")
    return typed if typed.lower() == name else name


async def tag_by_name(session: AsyncSession, name: str) -> Tag | None:
    """The stored hashtag of that (normalised) name, if any status or follow ever used it."""
    return (await session.execute(select(Tag).where(Tag.name == name))).scalar_one_or_none()


async def tag_for_name(session: AsyncSession, name: str) -> Tag:
    """The stored hashtag of that (normalised) name, created when it is new."""
    connection = await session.connection()
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    await session.execute(insert(Tag).values(id=new_id(), name=name).on_conflict_do_nothing())
    tag = await tag_by_name(session, name)
    assert tag is not None
    return tag


@dataclass(frozen=True)
class TagUse:
    """One day of a hashtag's use: the day's UTC midnight, statuses carrying it, distinct authors."""

    day: datetime
    uses: int
    accounts: int


async def tag_histories(
    session: AsyncSession, tag_ids: Sequence[int], *, now: datetime | None = None
) -> dict[int, list[TagUse]]:
    """Per hashtag, its use on each of the last `HISTORY_DAYS` days (today first): public and unlisted
    statuses, local or received, not deleted and not boosts — what Mastodon counts. One statement."""
    return await daily_uses(session, StatusTag.tag_id, StatusTag.status_id, tag_ids, now=now)


async def daily_uses(
    session: AsyncSession, key: Any, status_key: Any, key_ids: Sequence[int], *, now: datetime | None = None
) -> dict[int, list[TagUse]]:
    """Per id of `key` (a column of a status link table, such as a hashtag's or a preview card's, whose
    `status_key` column names the status), its use on each of the last `HISTORY_DAYS` days (today first),
    counted as `tag_histories` counts. One statement."""
    today = (now or utcnow()).astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    days = [today - timedelta(days=offset) for offset in range(HISTORY_DAYS)]
    if not key_ids:
        return {}
    columns: list[Any] = []
    for start in days:
        on_day = and_(Status.created_at >= start, Status.created_at < start + timedelta(days=1))
        columns.append(func.count(case((on_day, Status.id))))
        columns.append(func.count(distinct(case((on_day, Status.account_id)))))
    rows = await session.execute(
        select(key, *columns)
        .join(Status, Status.id == status_key)
        .where(
            key.in_(key_ids),
            status_key >= id_floor(days[-1]),  # ids grow with time: the index bounds the scan
            Status.created_at >= days[-1],
            Status.visibility.in_(COUNTED_VISIBILITIES),
            Status.deleted_at.is_(None),
            Status.reblog_of_id.is_(None),
        )
        .group_by(key)
    )
    counted = {row[0]: row[1:] for row in rows}
    histories = {}
    for key_id in key_ids:
        counts = counted.get(key_id, (0,) * (2 * HISTORY_DAYS))
        histories[key_id] = [
            TagUse(day, int(counts[2 * index]), int(counts[2 * index + 1])) for index, day in enumerate(days)
        ]
    return histories


async def tag_relations(
    session: AsyncSession, account_id: int, tag_ids: Sequence[int]
) -> tuple[set[int], set[int]]:
    """Of these hashtags, those `account_id` follows and those it features on its profile."""
    if not tag_ids:
        return set(), set()
    following = await session.execute(
        select(TagFollow.tag_id).where(TagFollow.account_id == account_id, TagFollow.tag_id.in_(tag_ids))
    )
    featuring = await session.execute(
        select(FeaturedTag.tag_id).where(
            FeaturedTag.account_id == account_id, FeaturedTag.tag_id.in_(tag_ids)
        )
    )
    return set(following.scalars()), set(featuring.scalars())


async def follow_tag(session: AsyncSession, account_id: int, tag_id: int) -> None:
    """`account_id` follows the hashtag; following it again changes nothing. Earlier statuses are not merged
    into home (Mastodon does not either): the follow feeds what arrives from now on."""
    already = await session.scalar(
        select(exists().where(TagFollow.account_id == account_id, TagFollow.tag_id == tag_id))
    )
    if not already:
        session.add(TagFollow(account_id=account_id, tag_id=tag_id))
        await session.flush()


async def unfollow_tag(session: AsyncSession, account_id: int, tag_id: int) -> None:
    """Stop following a hashtag, and take out of home the statuses carrying it that are there only through
    hashtags: not the account's own, not from an account it follows, not mentioning it, and carrying no
    other hashtag it still follows (Mastodon's `unmerge_tag_from_home`)."""
    removed = await session.execute(
        delete(TagFollow).where(TagFollow.account_id == account_id, TagFollow.tag_id == tag_id)
    )
    if not removed.rowcount:
        return
    still_followed = select(TagFollow.tag_id).where(TagFollow.account_id == account_id)
    other_tag = aliased(StatusTag)
    # Walked from the account's own feed rows (bounded by its home), not from every status with the tag.
    feed = aliased(HomeFeedEntry)
    only_by_tag = (
        select(feed.status_id)
        .join(StatusTag, and_(StatusTag.status_id == feed.status_id, StatusTag.tag_id == tag_id))
        .join(Status, Status.id == feed.status_id)
        .where(
            feed.account_id == account_id,
            Status.account_id != account_id,
            ~exists().where(Follow.account_id == account_id, Follow.target_account_id == Status.account_id),
            ~exists().where(Mention.status_id == Status.id, Mention.account_id == account_id),
            ~exists().where(other_tag.status_id == Status.id, other_tag.tag_id.in_(still_followed)),
        )
    )
    doomed = list((await session.execute(only_by_tag)).scalars())
    for start in range(0, len(doomed), DELETE_BATCH):
        batch = doomed[start : start + DELETE_BATCH]
        await session.execute(
            delete(HomeFeedEntry).where(
                HomeFeedEntry.account_id == account_id, HomeFeedEntry.status_id.in_(batch)
            )
        )


def followed_tags_query(account_id: int) -> ListQuery:
    """(tag follow id, Tag) of the hashtags an account follows; pages go by the follow's id."""
    statement = (
        select(TagFollow.id, Tag)
        .join(Tag, Tag.id == TagFollow.tag_id)
        .where(TagFollow.account_id == account_id)
    )
    return ListQuery(statement, TagFollow.id)


async def tag_follower_ids(session: AsyncSession, tag_names: Iterable[str]) -> dict[str, set[int]]:
    """Per hashtag name, the local accounts (not suspended) following it."""
    names = set(tag_names)
    if not names:
        return {}
    rows = await session.execute(
        select(Tag.name, TagFollow.account_id)
        .join(TagFollow, TagFollow.tag_id == Tag.id)
        .join(Account, Account.id == TagFollow.account_id)
        .where(Tag.name.in_(names), Account.domain.is_(None), Account.suspended_at.is_(None))
    )
    followers: dict[str, set[int]] = {}
    for name, account_id in rows:
        followers.setdefault(name, set()).add(account_id)
    return followers


def tagged_public_statuses(tag_id: int, *, local_only: bool, account_id: int | None = None) -> Any:
    """SQL condition on statuses: public (never less), original, not deleted, carrying the hashtag — what a
    public page may show; `local_only` keeps this server's, `account_id` one author's."""
    conditions = [
        Status.visibility == "public",
        Status.reblog_of_id.is_(None),
        Status.deleted_at.is_(None),
        exists().where(StatusTag.status_id == Status.id, StatusTag.tag_id == tag_id),
    ]
    if local_only:
        conditions.append(Status.local.is_(True))
    if account_id is not None:
        conditions.append(Status.account_id == account_id)
    return and_(*conditions)
