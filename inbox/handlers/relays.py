"""What relays send us: their answer to our subscription, and the public posts they pass on.

A relay's `Announce` is no boost: as in Mastodon, the announced status is fetched from its own origin (the
relay's signature vouches for nothing but the relay; the origin's domain policy applies through
`webfinger.resolve.resolve_status`) and stored under its author, so it reaches the federated timeline and
no home timeline or notification. A raw `Create` passed on by a relay was re-fetched from its origin by the
inbox route and is kept although nobody here follows its author (`inbox.handlers.statuses.handle_create`).
"""

from __future__ import annotations

from typing import Any

from apub.hosts import same_origin
from inbox.errors import Rejected
from storage.bus import Event
from storage.context import Context
from storage.models import Account, Relay
from storage.relays import count_relayed, relay_answering, set_relay_state
from storage.statuses import status_by_uri
from storage.stream_events import PUBLIC_TOPIC
from webfinger.convert import id_of
from webfinger.resolve import ResolveError, resolve_status


async def answer_to_subscription(ctx: Context, activity: dict[str, Any], actor: Account, state: str) -> bool:
    """Record a relay's `Accept` or `Reject` of our Follow; False when the activity answers no relay
    subscription. Only the relay's own origin may answer for it (our Follow ids are not secret)."""
    async with ctx.db.transaction() as session:
        relay = await relay_answering(session, id_of(activity.get("object")))
        if relay is None:
            return False
        if not same_origin(actor.uri, relay.inbox_url):
            raise Rejected(f"{actor.uri} answered for the relay at {relay.inbox_url}")
        set_relay_state(relay, state, actor_uri=actor.uri)
    return True


async def take_relayed_status(ctx: Context, relay: Relay, object_id: str) -> list[Event]:
    """Store the status a relay announced, fetched from its origin; the public streams hear of a new one."""
    async with ctx.db.read() as session:
        known = await status_by_uri(session, object_id) is not None
    try:
        status = await resolve_status(ctx, object_id)
    except ResolveError as error:
        raise Rejected(f"relayed object unavailable: {error}") from error
    async with ctx.db.transaction() as session:
        await count_relayed(session, relay.id)
    if known or status.visibility != "public" or status.local:
        return []
    return [Event(topic=PUBLIC_TOPIC, kind="update", payload={"status_id": status.id})]
