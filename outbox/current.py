"""What our ActivityPub GET endpoints serve of an edited status: its current state, never the first draft.

The stored `Create` of a status is the document that was delivered when it was posted. Once the status is
edited, that document is stale: the outbox lists the status's latest `Update` instead, and its `Create`
(at `/statuses/:id/activity`) is served with the current object. Either way the object is rendered now,
with its `updated` time, as Mastodon renders its outbox.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from apub.builders import build_activity, iso_datetime
from outbox.render import load_note_parts, status_to_note
from storage.models import Account, Activity, Status
from storage.urls import LocalUrls


async def _edited(
    session: AsyncSession, status_id: int, urls: LocalUrls, domain: str
) -> tuple[Status, dict[str, Any]] | None:
    """An edited, living status and its current Note; None when the stored document is still current."""
    status = await session.get(Status, status_id)
    if status is None or status.edited_at is None or status.deleted_at is not None:
        return None
    author = await session.get(Account, status.account_id)
    if author is None:
        return None
    note = status_to_note(await load_note_parts(session, status, author), urls, domain, with_context=False)
    return status, note


async def _latest_update(session: AsyncSession, status_id: int) -> Activity | None:
    statement = (
        select(Activity)
        .where(Activity.status_id == status_id, Activity.activity_type == "Update")
        .order_by(Activity.id.desc())
        .limit(1)
    )
    return (await session.execute(statement)).scalar_one_or_none()


def _wrap(activity_type: str, uri: str, note: dict[str, Any], published: datetime) -> dict[str, Any]:
    return build_activity(
        activity_type, uri, note["attributedTo"], note, to=note["to"], cc=note["cc"], published=published
    )


async def current_create(session: AsyncSession, activity: Activity, urls: LocalUrls, domain: str) -> dict:
    """A status's `Create` as served at its id: the stored one, with the current object once edited."""
    if activity.activity_type != "Create" or activity.status_id is None:
        return activity.payload
    edited = await _edited(session, activity.status_id, urls, domain)
    if edited is None:
        return activity.payload
    status, note = edited
    return _wrap("Create", activity.uri, note, status.created_at)


async def outbox_item(session: AsyncSession, activity: Activity, urls: LocalUrls, domain: str) -> dict:
    """One entry of an outbox page: the stored activity, or for an edited status its latest `Update`
    carrying the current object (`updated` set on both)."""
    if activity.activity_type != "Create" or activity.status_id is None:
        return activity.payload
    edited = await _edited(session, activity.status_id, urls, domain)
    if edited is None:
        return activity.payload
    status, note = edited
    update = await _latest_update(session, activity.status_id)
    if update is None:  # no Update stored for it: the Create, brought up to date
        return _wrap("Create", activity.uri, note, status.created_at)
    assert status.edited_at is not None
    document = _wrap("Update", update.uri, note, status.edited_at)
    document["updated"] = iso_datetime(status.edited_at)
    return document
