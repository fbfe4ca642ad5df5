"""Queries and writes on the activities we authored (served at their ids, listed in outboxes)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.ids import new_id
from storage.models import Activity, Status

# What an outbox lists: what the actor did in public. Follows, blocks and likes are private business.
OUTBOX_TYPES = ("Create", "Announce")


async def add_activity(
    session: AsyncSession,
    *,
    activity_id: int,
    uri: str,
    account_id: int,
    activity_type: str,
    payload: dict[str, Any],
    status_id: int | None = None,
    visibility: str = "public",
) -> Activity:
    """Store an activity we authored (its `payload` is the exact document that will be delivered)."""
    activity = Activity(
        id=activity_id,
        uri=uri,
        account_id=account_id,
        activity_type=activity_type,
        payload=payload,
        status_id=status_id,
        visibility=visibility,
    )
    session.add(activity)
    await session.flush()
    return activity


def new_activity_id() -> int:
    """An id for an activity about to be built (its URL is derived from it before the row exists)."""
    return new_id()


async def activity_by_id(session: AsyncSession, activity_id: int) -> Activity | None:
    """One of our activities by id, or None."""
    return await session.get(Activity, activity_id)


async def create_activity_of(session: AsyncSession, status_id: int) -> Activity | None:
    """The `Create` (or `Announce`, for a boost) that published a status, or None."""
    statement = (
        select(Activity)
        .where(Activity.status_id == status_id, Activity.activity_type.in_(OUTBOX_TYPES))
        .order_by(Activity.id)
        .limit(1)
    )
    return (await session.execute(statement)).scalar_one_or_none()


def _outbox_filter(account_id: int) -> list[Any]:
    return [
        Activity.account_id == account_id,
        Activity.activity_type.in_(OUTBOX_TYPES),
        Activity.visibility == "public",
        exists().where(Status.id == Activity.status_id, Status.deleted_at.is_(None)),
    ]


async def count_outbox(session: AsyncSession, account_id: int) -> int:
    """How many public activities an actor's outbox lists."""
    statement = select(func.count()).select_from(Activity).where(*_outbox_filter(account_id))
    return int((await session.execute(statement)).scalar_one())


async def outbox_page(
    session: AsyncSession, account_id: int, *, max_id: int | None, limit: int
) -> list[Activity]:
    """Public activities of an actor's outbox, newest first, below `max_id`."""
    statement = select(Activity).where(*_outbox_filter(account_id))
    if max_id is not None:
        statement = statement.where(Activity.id < max_id)
    return list((await session.execute(statement.order_by(Activity.id.desc()).limit(limit))).scalars())


async def previous_object(session: AsyncSession, activity: Activity) -> Any:
    """The object as we last sent it before `activity`: for a status, its latest `Create` or `Update`; for
    the actor (an activity with no status), its latest `Update` of itself. None when never sent."""
    statement = select(Activity.payload).where(
        Activity.account_id == activity.account_id,
        Activity.id < activity.id,
        Activity.activity_type.in_(("Create", "Update")),
    )
    if activity.status_id is not None:
        statement = statement.where(Activity.status_id == activity.status_id)
    else:
        statement = statement.where(Activity.status_id.is_(None), Activity.activity_type == "Update")
    payload = await session.scalar(statement.order_by(Activity.id.desc()).limit(1))
    return payload.get("object") if isinstance(payload, dict) else None
