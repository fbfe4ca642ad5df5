"""Checks of an activity's claims before it is queued, so a forged or foreign activity is refused with a
status code and leaves nothing behind.

Origin rules (as Mastodon and the ActivityPub security considerations have them): an activity's id is on
its actor's origin; an object it creates, updates, deletes or undoes is too; a status is attributed to the
actor who sends it; only an actor updates or moves itself. Ownership rules need one indexed lookup: only
the author updates or deletes a stored status, only the followed actor accepts or rejects a follow.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from apub.hosts import same_origin
from apub.vocab import ACTOR_TYPES, PUBLIC
from inbox.errors import ForeignObject, MalformedActivity, NotPermitted
from inbox.parse import ActivityIdentity
from storage.context import Context
from storage.models import Account, Follow, FollowRequest, Status
from storage.relays import relay_answering
from webfinger.convert import as_list, id_of

SAME_ORIGIN_OBJECT_TYPES = frozenset({"Create", "Update", "Delete", "Undo"})


def _attributed_to(document: dict[str, Any]) -> str | None:
    return next((ref for item in as_list(document.get("attributedTo")) if (ref := id_of(item))), None)


async def _status_owner(ctx: Context, uri: str) -> str | None:
    async with ctx.db.read() as session:
        row = await session.execute(
            select(Account.uri).join(Status, Status.account_id == Account.id).where(Status.uri == uri)
        )
        return row.scalar_one_or_none()


async def _follow_target(ctx: Context, follow_uri: str) -> str | None:
    async with ctx.db.read() as session:
        for model in (FollowRequest, Follow):
            row = await session.execute(
                select(Account.uri)
                .join(model, model.target_account_id == Account.id)  # type: ignore[attr-defined]
                .where(model.uri == follow_uri)  # type: ignore[attr-defined]
            )
            target = row.scalar_one_or_none()
            if target is not None:
                return target
    return None


async def _check_relay_answer(ctx: Context, kind: str, follow_uri: str | None, actor: str) -> None:
    """Our Follow of a relay has the Public collection as its object (Mastodon's way), so the answer is the
    relay's only when it comes from the origin of the relay's inbox."""
    async with ctx.db.read() as session:
        relay = await relay_answering(session, follow_uri)
    if relay is None or not same_origin(relay.inbox_url, actor):
        raise NotPermitted(f"{kind} of a relay subscription by someone other than the relay")


async def check_activity(ctx: Context, activity: dict[str, Any], identity: ActivityIdentity) -> None:
    """Raise an InboxError when the activity claims what its actor may not claim."""
    actor = identity.actor_uri
    kind = identity.activity_type
    if not same_origin(identity.activity_id, actor):
        raise ForeignObject("the activity id is not on its actor's origin")
    target = activity.get("object")
    object_id = id_of(target)
    if kind in SAME_ORIGIN_OBJECT_TYPES:
        if object_id is None:
            raise MalformedActivity(f"{kind} without an object id")
        if not same_origin(object_id, actor):
            raise ForeignObject(f"{kind} of an object on another origin")
    if isinstance(target, dict) and kind in ("Create", "Update"):
        if target.get("type") in ACTOR_TYPES:
            if object_id != actor:
                raise NotPermitted("an actor can only update itself")
        elif _attributed_to(target) != actor:
            raise NotPermitted("the object is attributed to someone else")
    if kind in ("Update", "Delete") and object_id is not None and object_id != actor:
        owner = await _status_owner(ctx, object_id)
        if owner is not None and owner != actor:
            raise NotPermitted(f"{kind} of another actor's object")
    if kind == "Undo" and isinstance(target, dict):
        undone_actor = id_of(target.get("actor"))
        if undone_actor is not None and undone_actor != actor:
            raise NotPermitted("Undo of another actor's activity")
    if kind in ("Accept", "Reject"):
        follow_like = isinstance(target, dict) and target.get("type") in (None, "Follow")
        if follow_like and id_of(target.get("object")) == PUBLIC:
            await _check_relay_answer(ctx, kind, object_id, actor)
        elif follow_like and "object" in target and id_of(target.get("object")) != actor:
            raise NotPermitted(f"{kind} of a follow of someone else")
        if object_id is not None:
            followee = await _follow_target(ctx, object_id)
            if followee is not None and followee != actor:
                raise NotPermitted(f"{kind} of a follow of someone else")
    if kind == "Move" and object_id != actor:
        raise NotPermitted("an actor can only move itself")
