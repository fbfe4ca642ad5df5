"""What a remote group relays of its members besides their posts, as Lemmy does: the group's `Announce` of a
member's `Like` (a favourite, here as from any server), `Dislike` (no such thing here: logged, ignored),
`Undo` of either, and `Update` of a post (an edit).

The group signed the `Announce`, not the member: a relayed `Like` or its `Undo` is believed for a post the
group shared (a group vouches for what happens in it, as Lemmy's communities do), with an id on its actor's
origin. An `Update` is believed from nobody: only its author may edit a post, so the post is fetched again
from its own origin and the fetched revision is stored. docs/GROUPS.md."""

from __future__ import annotations

import logging
from typing import Any

from apub.errors import ApubError
from apub.hosts import same_origin
from apub.vocab import STATUS_OBJECT_TYPES
from inbox.errors import Rejected
from inbox.handlers.interactions import handle_like, undo_like
from inbox.handlers.statuses import update_status
from storage.bus import Event
from storage.context import Context
from storage.groups import is_group
from storage.models import Account
from storage.statuses import boost_of, status_by_uri
from webfinger.convert import as_list, id_of
from webfinger.fetch import fetch_object
from webfinger.resolve import ResolveError, resolve_actor

logger = logging.getLogger(__name__)

VOTES = frozenset({"Like", "Dislike"})


def relayed_interaction(announce: dict[str, Any]) -> dict[str, Any] | None:
    """The member's activity an `Announce` relays (`Like`, `Dislike`, their `Undo`, `Update`), else None."""
    shared = announce.get("object")
    if not isinstance(shared, dict):
        return None
    kind, inner = shared.get("type"), shared.get("object")
    if kind in VOTES or kind == "Update":
        return shared
    if kind == "Undo" and isinstance(inner, dict) and inner.get("type") in VOTES:
        return shared
    return None


async def handle_relayed_interaction(ctx: Context, group: Account, act: dict[str, Any]) -> list[Event]:
    """A group's `Announce` of a member's vote or edit (see the module's docstring)."""
    if not is_group(group):
        raise Rejected("an announced Like, Dislike or Update from an actor that is not a group")
    actor_uri, act_id = id_of(act.get("actor")), id_of(act)
    if actor_uri is None or act_id is None or not same_origin(act_id, actor_uri):
        raise Rejected("announced activity without an actor or off its actor's origin")
    if act["type"] == "Update":
        return await _edit(ctx, actor_uri, act.get("object"))
    vote = act if act["type"] in VOTES else act["object"]
    if vote.get("type") == "Dislike":
        # Mastodon's API has no dislikes; Lemmy's downvotes are dropped rather than counted as anything.
        logger.info("Dislike of %s by %s (via %s) ignored", id_of(vote.get("object")), actor_uri, group.uri)
        return []
    async with ctx.db.read() as session:
        status = await status_by_uri(session, id_of(vote.get("object")) or "")
        shared = status is not None and await boost_of(session, group.id, status.id) is not None
    if not shared:
        raise Rejected(f"announced {vote.get('type')} of a post {group.uri} did not share")
    try:
        voter = await resolve_actor(ctx, actor_uri)
    except ResolveError as error:
        raise Rejected(f"voter {actor_uri} unavailable: {error}") from error
    if act["type"] == "Undo":
        return await undo_like(ctx, vote, voter)
    return await handle_like(ctx, vote, voter)


def _author_of(document: dict[str, Any]) -> str | None:
    authors = as_list(document.get("attributedTo"))
    return id_of(authors[0]) if authors else None


async def _edit(ctx: Context, actor_uri: str, document: Any) -> list[Event]:
    """An edit, believed only as the post's own origin serves it now, and only of its author's post."""
    if not isinstance(document, dict) or document.get("type") not in STATUS_OBJECT_TYPES:
        return []  # Lemmy also relays updates of other things (a community's profile): not posts
    object_id = id_of(document)
    async with ctx.db.read() as session:
        status = await status_by_uri(session, object_id) if object_id else None
        author = await session.get(Account, status.account_id) if status is not None else None
    if status is None or author is None or status.deleted_at is not None:
        return []
    if status.local or author.uri != actor_uri or not same_origin(object_id, author.uri):
        raise Rejected(f"announced Update of {object_id} not by its author")
    try:
        current = await fetch_object(ctx, object_id)
    except ApubError as error:
        raise Rejected(f"{object_id} could not be fetched from its origin: {error}") from error
    if _author_of(current) != author.uri:
        raise Rejected(f"{object_id} as served by its origin is not {author.uri}'s")
    return await update_status(ctx, current, author)
