"""Grouped notifications, as Mastodon 4.3 groups them: favourites and boosts of one status, and follows,
that arrive within `MAX_GROUP_SPAN_HOURS` of the group's first one share a `group_key`; every other
notification is a group of its own, `ungrouped-<id>`.

A page of groups (`group_page`) holds the newest notification of each group within the requested window,
read from the account's notifications in id order; `groups_data` then tells, per group, its size, newest
notification, the accounts that most recently caused it and its bounds within the page.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Notification

GROUPABLE_TYPES = ("favourite", "reblog", "follow")
MAX_GROUP_SPAN_HOURS = 12
SAMPLE_ACCOUNTS = 8  # sample_account_ids per group, as Mastodon
UNGROUPED = "ungrouped-"
SCAN_BATCH = 200  # notifications read at a time while collecting a page of distinct groups


def _key_prefix(notification_type: str, status_id: int | None) -> str:
    return f"{notification_type}-{status_id}" if notification_type in ("favourite", "reblog") else "follow"


async def new_group_key(
    session: AsyncSession,
    recipient_id: int,
    notification_type: str,
    status_id: int | None,
    created_at: datetime,
) -> str | None:
    """The group key of a new notification: None for a type that is never grouped; else its type (and
    status), and the hour its group started — the group of the same kind started within the last
    `MAX_GROUP_SPAN_HOURS` hours if the recipient has one, else this hour."""
    if notification_type not in GROUPABLE_TYPES:
        return None
    prefix = _key_prefix(notification_type, status_id)
    hour = int(created_at.timestamp()) // 3600
    # The keys a group still open could have: one per hour of the span (an indexed lookup, no LIKE).
    candidates = [f"{prefix}-{start}" for start in range(hour - MAX_GROUP_SPAN_HOURS + 1, hour + 1)]
    open_keys = (
        await session.execute(
            select(Notification.group_key)
            .where(Notification.account_id == recipient_id, Notification.group_key.in_(candidates))
            .distinct()
        )
    ).scalars()
    starts = [int(key.rsplit("-", 1)[1]) for key in open_keys if key]
    return f"{prefix}-{max(starts) if starts else hour}"


def shown_group_key(notification: Notification, grouped_types: Collection[str]) -> str:
    """The key a notification is shown under: its group's when its type may be grouped here, else its own."""
    if notification.group_key and notification.notification_type in grouped_types:
        return notification.group_key
    return f"{UNGROUPED}{notification.id}"


def allowed_grouped_types(requested: Sequence[str]) -> tuple[str, ...]:
    """The types a client lets us group (`grouped_types[]`; all groupable ones when it names none)."""
    if not requested:
        return GROUPABLE_TYPES
    return tuple(kind for kind in GROUPABLE_TYPES if kind in requested)


async def group_page(
    session: AsyncSession,
    query: Select[Any],
    grouped_types: Collection[str],
    *,
    limit: int,
    max_id: int | None = None,
    since_id: int | None = None,
    min_id: int | None = None,
) -> list[Notification]:
    """One notification per group, at most `limit` groups, newest first: walking `query` (an account's
    notifications) newest first below `max_id` and above `since_id` — or, with `min_id`, oldest first above
    it — each group is represented by the first of its notifications met."""
    ascending = min_id is not None
    statement = query
    if max_id is not None:
        statement = statement.where(Notification.id < max_id)
    if since_id is not None:
        statement = statement.where(Notification.id > since_id)
    if min_id is not None:
        statement = statement.where(Notification.id > min_id)
    order = Notification.id.asc() if ascending else Notification.id.desc()
    picked: dict[str, Notification] = {}
    cursor: int | None = None
    while len(picked) < limit:
        batch_statement = statement
        if cursor is not None:
            batch_statement = batch_statement.where(
                Notification.id > cursor if ascending else Notification.id < cursor
            )
        batch = (await session.execute(batch_statement.order_by(order).limit(SCAN_BATCH))).scalars().all()
        for notification in batch:
            picked.setdefault(shown_group_key(notification, grouped_types), notification)
            if len(picked) == limit:
                break
        if len(batch) < SCAN_BATCH:
            break
        cursor = batch[-1].id
    rows = sorted(picked.values(), key=lambda row: row.id, reverse=True)
    return rows


@dataclass(frozen=True)
class GroupData:
    """What a page says about one group."""

    most_recent_id: int
    sample_account_ids: list[int]
    count: int
    page_min_id: int | None
    latest_at: datetime


async def groups_data(
    session: AsyncSession, account_id: int, group_keys: Collection[str], *, page_range: tuple[int, int] | None
) -> dict[str, GroupData]:
    """Per stored group key: its notifications up to the page's upper bound (all of them without a range),
    counted, the newest one, the accounts of the newest `SAMPLE_ACCOUNTS`, and the oldest id within the
    range — one windowed read for the whole page."""
    if not group_keys:
        return {}
    conditions = [Notification.account_id == account_id, Notification.group_key.in_(list(group_keys))]
    if page_range is not None:
        conditions.append(Notification.id <= page_range[1])
    low = page_range[0] if page_range is not None else None
    partition = {"partition_by": Notification.group_key}
    ranked = (
        select(
            Notification.group_key,
            Notification.id,
            Notification.from_account_id,
            Notification.created_at,
            func.row_number().over(order_by=Notification.id.desc(), **partition).label("position"),
            func.count().over(**partition).label("total"),
            func.min(case((Notification.id >= low, Notification.id)) if low is not None else Notification.id)
            .over(**partition)
            .label("page_min_id"),
        )
        .where(and_(*conditions))
        .subquery()
    )
    rows = await session.execute(
        select(ranked).where(ranked.c.position <= SAMPLE_ACCOUNTS).order_by(ranked.c.position)
    )
    data: dict[str, GroupData] = {}
    samples: dict[str, list[int]] = {}
    for row in rows:
        samples.setdefault(row.group_key, [])
        if row.from_account_id not in samples[row.group_key]:
            samples[row.group_key].append(row.from_account_id)
        if row.position == 1:
            data[row.group_key] = GroupData(
                most_recent_id=row.id,
                sample_account_ids=samples[row.group_key],
                count=row.total,
                page_min_id=row.page_min_id,
                latest_at=row.created_at,
            )
    return data
