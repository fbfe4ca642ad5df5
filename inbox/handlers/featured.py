"""`Add` and `Remove` of a status to the sender's own `featured` collection: a remote account pins or unpins
one of its posts (Mastodon sends these on every pin). Other collections (featured hashtags, anything else)
are ignored; an item that is not the sender's own status on its own origin is refused."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete

from apub.hosts import same_origin
from inbox.errors import Rejected
from storage.bus import Event
from storage.context import Context
from storage.models import Account, StatusPin
from storage.statuses import status_by_uri
from webfinger.convert import id_of
from webfinger.featured import pin_remote, pinnable_status


def _to_own_featured(activity: dict[str, Any], actor: Account) -> str | None:
    """The object's id when the activity targets the actor's own featured collection, else None."""
    target = id_of(activity.get("target"))
    if target is None or not actor.featured_url or target != actor.featured_url:
        return None
    object_id = id_of(activity.get("object"))
    if object_id is None or not same_origin(object_id, actor.uri):
        raise Rejected(f"{activity.get('type')} of an object that is not on {actor.uri}'s origin")
    return object_id


async def handle_add(ctx: Context, activity: dict[str, Any], actor: Account) -> list[Event]:
    """The actor pinned one of its statuses (fetched first if we do not have it)."""
    if _to_own_featured(activity, actor) is None:
        return []
    status = await pinnable_status(ctx, activity.get("object"), actor)
    if status is None:
        raise Rejected(f"{id_of(activity.get('object'))} is no status of {actor.uri} to pin")
    async with ctx.db.transaction() as session:
        await pin_remote(session, actor.id, status.id)
    return []


async def handle_remove(ctx: Context, activity: dict[str, Any], actor: Account) -> list[Event]:
    """The actor unpinned one of its statuses."""
    object_id = _to_own_featured(activity, actor)
    if object_id is None:
        return []
    async with ctx.db.transaction() as session:
        status = await status_by_uri(session, object_id)
        if status is not None:
            await session.execute(
                delete(StatusPin).where(StatusPin.account_id == actor.id, StatusPin.status_id == status.id)
            )
    return []
