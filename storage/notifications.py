"""Queries on a local account's notifications (rows written by `storage.notify.notify`) and its markers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, delete, exists, false, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.ids import parse_id
from storage.models import Account, Marker, Notification, Status
from storage.notification_groups import UNGROUPED
from storage.types import utcnow

MARKER_TIMELINES = ("home", "notifications")
# Notifications only the web notifications page shows: no Mastodon type says this (an appeal's decision;
# apps read it in the `moderation_warning`'s `appeal`), so the client API leaves them out.
WEB_ONLY_TYPES = ("appeal_approved", "appeal_rejected")


def _not_web_only() -> ColumnElement[bool]:
    # The types are written into the SQL, not bound: a generic plan (asyncpg prepares every statement) cannot
    # see bound values and guesses their filter selective enough to read a whole account's notifications and
    # sort them, where the constants let it walk (account_id, id) for one page (tests/clientapi/test_page_plans).
    return Notification.notification_type.not_in(
        bindparam("web_only_types", WEB_ONLY_TYPES, expanding=True, literal_execute=True)
    )


def notifications_query(
    account_id: int,
    *,
    types: Iterable[str] = (),
    exclude_types: Iterable[str] = (),
    from_account_id: int | None = None,
    include_filtered: bool = False,
    include_web_only: bool = False,
) -> Select[Any]:
    """An account's notifications (page them by `Notification.id`), optionally only of `types`, without
    `exclude_types`, or from one account. Those about a deleted status or from a suspended account are left
    out, and those its notification policy filtered unless `include_filtered` or one account's are asked
    for (as Mastodon); WEB_ONLY_TYPES unless `include_web_only` (the web page)."""
    statement = select(Notification).where(Notification.account_id == account_id)
    if not include_web_only:
        statement = statement.where(_not_web_only())
    if not include_filtered and from_account_id is None:
        statement = statement.where(Notification.filtered.is_(False))
    wanted = list(types)
    if wanted:
        statement = statement.where(Notification.notification_type.in_(wanted))
    unwanted = list(exclude_types)
    if unwanted:
        statement = statement.where(Notification.notification_type.not_in(unwanted))
    if from_account_id is not None:
        statement = statement.where(Notification.from_account_id == from_account_id)
    return statement.where(
        ~exists().where(Account.id == Notification.from_account_id, Account.suspended_at.is_not(None)),
        ~exists().where(Status.id == Notification.status_id, Status.deleted_at.is_not(None)),
    )


def read_marker_id(marker: Marker | None) -> int | None:
    """The id a `notifications` marker points at (None without a marker, or when it holds no id of ours)."""
    return parse_id(marker.last_read_id) if marker is not None else None


async def count_unread(session: AsyncSession, query: Select[Any], marker_id: int | None, limit: int) -> int:
    """How many of `query`'s notifications are newer than the marker, counting at most `limit`."""
    if marker_id is not None:
        query = query.where(Notification.id > marker_id)
    page = query.with_only_columns(Notification.id).order_by(Notification.id.asc()).limit(limit).subquery()
    return int(await session.scalar(select(func.count()).select_from(page)) or 0)


async def notification_for(
    session: AsyncSession, account_id: int, notification_id: int
) -> Notification | None:
    """One of an account's notifications as the client API shows them, or None (also when it belongs to
    someone else, or is one of WEB_ONLY_TYPES)."""
    statement = select(Notification).where(
        Notification.id == notification_id,
        Notification.account_id == account_id,
        _not_web_only(),
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def dismiss_group(session: AsyncSession, account_id: int, group_key: str) -> None:
    """Delete every notification of one of an account's groups (`ungrouped-<id>`: that one notification)."""
    await session.execute(
        delete(Notification).where(Notification.account_id == account_id, by_group_key(group_key))
    )


def by_group_key(group_key: str) -> Any:
    """SQL condition: the notification belongs to the group shown under `group_key`."""
    if group_key.startswith(UNGROUPED):
        notification_id = parse_id(group_key.removeprefix(UNGROUPED))
        return Notification.id == notification_id if notification_id is not None else false()
    return Notification.group_key == group_key


async def dismiss_notification(session: AsyncSession, account_id: int, notification_id: int) -> bool:
    """Delete one of an account's notifications; False when there was none."""
    result = await session.execute(
        delete(Notification).where(Notification.id == notification_id, Notification.account_id == account_id)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def clear_notifications(session: AsyncSession, account_id: int) -> int:
    """Delete every notification of an account; returns how many."""
    result = await session.execute(delete(Notification).where(Notification.account_id == account_id))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def markers_of(session: AsyncSession, account_id: int, timelines: Iterable[str]) -> list[Marker]:
    """An account's read markers for the named timelines (those it has set)."""
    wanted = [name for name in timelines if name in MARKER_TIMELINES]
    if not wanted:
        return []
    statement = select(Marker).where(Marker.account_id == account_id, Marker.timeline.in_(wanted))
    return list((await session.execute(statement)).scalars())


async def set_marker(session: AsyncSession, account_id: int, timeline: str, last_read_id: str) -> Marker:
    """Create or move an account's marker on `timeline`; each move bumps its version."""
    if timeline not in MARKER_TIMELINES:
        raise ValueError(f"unknown timeline {timeline!r}")
    statement = (
        select(Marker).where(Marker.account_id == account_id, Marker.timeline == timeline).with_for_update()
    )
    marker = (await session.execute(statement)).scalar_one_or_none()
    if marker is None:
        marker = Marker(account_id=account_id, timeline=timeline, last_read_id=last_read_id, version=1)
        session.add(marker)
    else:
        marker.last_read_id = last_read_id
        marker.version += 1
        marker.updated_at = utcnow()
    await session.flush()
    return marker
