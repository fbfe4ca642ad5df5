"""One small handler per activity type, each one transaction (plus the fetches it needs before it).

`HANDLERS` maps an activity type to its handler; `Update`, `Delete` and `Undo` dispatch on what they act
on. A handler raises `inbox.errors.Rejected` to drop an activity it refuses; it returns the bus events to
publish once its transaction has committed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from apub.vocab import STATUS_OBJECT_TYPES
from inbox.handlers.accounts import delete_actor, handle_move, update_actor
from inbox.handlers.common import Handler
from inbox.handlers.featured import handle_add, handle_remove
from inbox.handlers.flags import handle_flag
from inbox.handlers.follows import handle_accept, handle_follow, handle_reject, undo_accept, undo_follow
from inbox.handlers.group_interactions import handle_relayed_interaction, relayed_interaction
from inbox.handlers.group_moderation import handle_group_moderation, moderation_act
from inbox.handlers.interactions import (
    handle_announce,
    handle_block,
    handle_emoji_react,
    handle_like,
    undo_announce,
    undo_block,
    undo_like,
)
from inbox.handlers.quotes import (
    accept_quote_request,
    handle_quote_request,
    reject_quote_request,
    revoke_stamp,
)
from inbox.handlers.statuses import delete_status_of, handle_create, update_status
from storage.bus import Event
from storage.context import Context
from storage.models import Account, Block, Favourite, Follow, FollowRequest, Status
from webfinger.convert import id_of

__all__ = ["HANDLERS", "Handler"]


async def handle_update(ctx: Context, activity: dict[str, Any], actor: Account) -> list[Event]:
    """An edit of the actor's own status, or the actor's new profile; anything else is ignored."""
    target = activity.get("object")
    if isinstance(target, dict) and target.get("type") in STATUS_OBJECT_TYPES:
        return await update_status(ctx, target, actor)
    if isinstance(target, dict) and id_of(target) == actor.uri:
        return await update_actor(ctx, target, actor)
    return []


async def handle_delete(ctx: Context, activity: dict[str, Any], actor: Account) -> list[Event]:
    """Delete of the actor itself, or of one of its objects."""
    object_id = id_of(activity.get("object"))
    if object_id is None:
        return []
    if object_id == actor.uri:
        return await delete_actor(ctx, actor)
    revoked = await revoke_stamp(ctx, object_id, actor)
    if revoked is not None:
        return revoked
    return await delete_status_of(ctx, object_id, actor)


async def handle_accept_any(ctx: Context, activity: dict[str, Any], actor: Account) -> list[Event]:
    """Accept of a quote request of ours (FEP-044f), else of a Follow."""
    quoted = await accept_quote_request(ctx, activity, actor)
    return quoted if quoted is not None else await handle_accept(ctx, activity, actor)


async def handle_reject_any(ctx: Context, activity: dict[str, Any], actor: Account) -> list[Event]:
    """Reject of a quote request of ours, else of a Follow."""
    refused = await reject_quote_request(ctx, activity, actor)
    return refused if refused is not None else await handle_reject(ctx, activity, actor)


async def handle_announce_any(ctx: Context, activity: dict[str, Any], actor: Account) -> list[Event]:
    """A group's `Announce` of a moderator's act (Lemmy's `Delete`, `Remove`, `Lock`, `Block`, `Undo`) or of a
    member's `Like`, `Dislike` or `Update`, else a boost."""
    act = moderation_act(activity)
    if act is not None:
        return await handle_group_moderation(ctx, actor, act)
    relayed = relayed_interaction(activity)
    if relayed is not None:
        return await handle_relayed_interaction(ctx, actor, relayed)
    return await handle_announce(ctx, activity, actor)


async def _undone_type(ctx: Context, undone: Any, actor: Account) -> str | None:
    """The type of the undone activity: embedded, or found by its id among what the actor did."""
    if isinstance(undone, dict) and isinstance(undone.get("type"), str):
        return undone["type"]
    undone_id = id_of(undone)
    if undone_id is None:
        return None
    async with ctx.db.read() as session:
        for model, kind in (
            (Follow, "Follow"),
            (FollowRequest, "Follow"),
            (Favourite, "Like"),
            (Block, "Block"),
        ):
            found = await session.execute(
                select(model.id).where(model.uri == undone_id, model.account_id == actor.id)  # type: ignore[attr-defined]
            )
            if found.first() is not None:
                return kind
        boost = await session.execute(
            select(Status.id).where(Status.uri == undone_id, Status.reblog_of_id.is_not(None))
        )
        if boost.first() is not None:
            return "Announce"
    return None


UNDO_HANDLERS = {
    "Follow": undo_follow,
    "Like": undo_like,
    "EmojiReact": undo_like,
    "Announce": undo_announce,
    "Block": undo_block,
    "Accept": undo_accept,
}


async def handle_undo(ctx: Context, activity: dict[str, Any], actor: Account) -> list[Event]:
    """Undo of a Follow, Like (or emoji reaction), Announce, Block or Accept by the same actor."""
    undone = activity.get("object")
    kind = await _undone_type(ctx, undone, actor)
    handler = UNDO_HANDLERS.get(kind or "")
    if handler is None:
        return []
    return await handler(ctx, undone, actor)


HANDLERS: dict[str, Handler] = {
    "Follow": handle_follow,
    "Accept": handle_accept_any,
    "Reject": handle_reject_any,
    "QuoteRequest": handle_quote_request,
    "Undo": handle_undo,
    "Create": handle_create,
    "Update": handle_update,
    "Delete": handle_delete,
    "Like": handle_like,
    "EmojiReact": handle_emoji_react,
    "Announce": handle_announce_any,
    "Block": handle_block,
    "Move": handle_move,
    "Flag": handle_flag,
    "Add": handle_add,
    "Remove": handle_remove,
}
