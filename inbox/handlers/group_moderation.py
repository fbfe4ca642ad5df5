"""A remote group's moderation as Lemmy sends it (FEP-1b12): the group's `Announce` of an author's `Delete` of
their own post (believed once the post's origin no longer serves it), of a moderator's `Delete`
or `Remove` of a post, `Lock` of a post (no new replies) or `Undo` of it, `Block` of an account (`target`:
the group) or `Undo` of that `Block`.

The group signed the `Announce`; the act inside it is nobody's signed word, so it is believed only when its
actor is the group itself or one of the moderators the group lists — its `attributedTo` collection
(Lemmy's older `moderators`), read from the group's own origin when the act arrives. Anything else is a
forgery: logged and rejected, nothing changed. docs/GROUPS.md."""

from __future__ import annotations

import logging
from typing import Any

from apub.errors import ApubError, FetchStatus
from apub.hosts import same_origin
from inbox.errors import Rejected
from inbox.handlers.common import local_account_by_uri
from inbox.handlers.group_locks import lock_shared_post
from inbox.handlers.interactions import handle_block, undo_block
from inbox.handlers.statuses import delete_status_of
from storage.account_removal import tombstone_status
from storage.bus import Event
from storage.context import Context
from storage.groups import is_group
from storage.models import Account
from storage.statuses import boost_of, status_by_uri
from storage.stream_events import reach_events
from webfinger.convert import id_of
from webfinger.fetch import fetch_object

logger = logging.getLogger(__name__)

MODERATION_ACTS = frozenset({"Delete", "Remove", "Block", "Lock"})
# What a moderator's `Undo` may take back; an announced `Undo(Like)` is a member's (inbox.handlers.group_interactions).
UNDOABLE_ACTS = frozenset({"Block", "Lock"})


def moderation_act(announce: dict[str, Any]) -> dict[str, Any] | None:
    """The moderator's act an `Announce` embeds, or None when it shares something else (a post, a Like)."""
    shared = announce.get("object")
    if not isinstance(shared, dict):
        return None
    if shared.get("type") in MODERATION_ACTS:
        return shared
    undone = shared.get("object")
    if shared.get("type") == "Undo" and isinstance(undone, dict) and undone.get("type") in UNDOABLE_ACTS:
        return shared
    return None


def _first_id(value: Any) -> str | None:
    return id_of(value[0]) if isinstance(value, list) and value else id_of(value)


def _item_ids(collection: dict[str, Any]) -> list[Any] | None:
    items = collection.get("orderedItems", collection.get("items"))
    return items if isinstance(items, list) else None


async def group_moderators(ctx: Context, group: Account) -> set[str]:
    """The actor ids a group lists as its moderators, fetched now from the group's origin (its actor
    document's `attributedTo`, else `moderators`; the collection's items, or those of its first page)."""
    actor = await fetch_object(ctx, group.uri)
    collection_id = _first_id(actor.get("attributedTo")) or _first_id(actor.get("moderators"))
    if collection_id is None or not same_origin(collection_id, group.uri):
        return set()
    collection = await fetch_object(ctx, collection_id)
    items = _item_ids(collection)
    first = collection.get("first")
    if items is None and first is not None:
        first_id = id_of(first)
        if isinstance(first, dict):
            items = _item_ids(first)
        elif first_id is not None and same_origin(first_id, group.uri):
            items = _item_ids(await fetch_object(ctx, first_id))
    return {uri for item in items or [] if (uri := id_of(item)) is not None}


async def check_moderator(ctx: Context, group: Account, act: dict[str, Any]) -> None:
    """The one decision whether a group's announced act is a moderator's: raise Rejected (and log the
    forgery) unless its actor is the group or one of the moderators it lists."""
    act_actor, act_id = id_of(act.get("actor")), id_of(act)
    if act_actor is None or act_id is None or not same_origin(act_id, act_actor):
        raise Rejected("announced moderation act without an actor or off its actor's origin")
    if act_actor == group.uri:
        return
    try:
        moderators = await group_moderators(ctx, group)
    except ApubError as error:
        raise Rejected(f"moderators of {group.uri} unavailable: {error}") from error
    if act_actor not in moderators:
        logger.warning(
            "forged group moderation: %s of %s by %s, who does not moderate %s",
            act.get("type"),
            id_of(act.get("object")),
            act_actor,
            group.uri,
        )
        raise Rejected(f"{act_actor} does not moderate {group.uri}")


async def handle_group_moderation(ctx: Context, group: Account, act: dict[str, Any]) -> list[Event]:
    """A group's `Announce` of a moderator's act: `Delete` or `Remove` of a post takes it out here (the
    group's boost of it, and a post from elsewhere itself); `Lock` / `Undo(Lock)` of a post it shared stops
    and allows local replies; `Block` of a local account is the group's ban of it (its follow ends),
    `Undo(Block)` lifts it. A ban of someone elsewhere concerns their server, not this one."""
    if not is_group(group):
        raise Rejected("an announced moderation act from an actor that is not a group")
    if act["type"] == "Delete":
        deleted = await authors_deletion(ctx, act)
        if deleted is not None:
            return deleted
    await check_moderator(ctx, group, act)
    kind = act["type"]
    undone = act.get("object") if kind == "Undo" else None
    if kind in ("Delete", "Remove"):
        return await _take_out(ctx, group, id_of(act.get("object")))
    if kind == "Lock" or (isinstance(undone, dict) and undone.get("type") == "Lock"):
        target = act if kind == "Lock" else undone
        assert isinstance(target, dict)
        return await lock_shared_post(ctx, group, id_of(target.get("object")), locked=kind == "Lock")
    banned = act if kind == "Block" else undone
    if not isinstance(banned, dict) or banned.get("type") != "Block":
        return []
    async with ctx.db.read() as session:
        member = await local_account_by_uri(session, id_of(banned.get("object")))
    if member is None:
        return []
    if kind == "Block":
        return await handle_block(ctx, banned, group)
    return await undo_block(ctx, banned, group)


async def authors_deletion(ctx: Context, act: dict[str, Any]) -> list[Event] | None:
    """Lemmy also relays an author's `Delete` of their own post: believed when the post's origin no longer
    serves it (gone, or a `Tombstone`), as nobody signed the `Delete` itself. None when the act's actor is
    not the stored post's author (then it is a moderator's act, or a forgery)."""
    status_uri, actor_uri = id_of(act.get("object")), id_of(act.get("actor"))
    async with ctx.db.read() as session:
        status = await status_by_uri(session, status_uri) if status_uri else None
        author = await session.get(Account, status.account_id) if status is not None else None
    if status is None or author is None or status.local or author.uri != actor_uri:
        return None
    assert status_uri is not None
    try:
        served = await fetch_object(ctx, status_uri)
    except FetchStatus as error:
        if error.remote_status not in (404, 410):
            raise Rejected(f"{status_uri} could not be checked at its origin: {error}") from error
    except ApubError as error:
        raise Rejected(f"{status_uri} could not be checked at its origin: {error}") from error
    else:
        if served.get("type") != "Tombstone":
            raise Rejected(f"announced Delete of {status_uri}, which its origin still serves")
    return await delete_status_of(ctx, status_uri, author)


async def _take_out(ctx: Context, group: Account, status_uri: str | None) -> list[Event]:
    """The group's boost of the post leaves every feed here; the readers' open streams hear `delete`. A post
    written elsewhere goes too, as Lemmy removes a post from its community for everyone (a post belongs
    to one community); a post written here stays its author's."""
    async with ctx.db.transaction() as session:
        status = await status_by_uri(session, status_uri) if status_uri else None
        boost = await boost_of(session, group.id, status.id) if status is not None else None
        if status is None or boost is None:
            return []
        events = await reach_events(session, boost, "delete")
        if status.local:
            await tombstone_status(session, boost)
        else:
            events += await reach_events(session, status, "delete")
            await tombstone_status(session, status)  # its boosts, the group's among them, go with it
    return events
