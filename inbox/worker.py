"""The inbound job handler: run a queued activity through its handler, then publish its events.

The actor is resolved first (from storage, fetched if new), except for the actor's own `Delete`, which
never fetches: a deleted actor answers 410. Activities from accounts or domains that are suspended by the
time the job runs are dropped. A refused activity fails its job with the reason, for the record.

`Create`, the bulk of the traffic, takes its actor and domain policy from short-lived caches
(`inbox.actors`, `inbox.policy`) and is checked again, authoritatively, in the transaction that stores the
status (`inbox.notes`), so a busy sender costs no database read per job.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from inbox.actors import recent_actor
from inbox.errors import DomainRefused, Rejected
from inbox.handlers import HANDLERS, Handler
from inbox.handlers.statuses import handle_create
from inbox.policy import refuse_unfederated, refuse_unfederated_recent
from storage.accounts import account_by_uri
from storage.context import Context
from storage.models import Account
from storage.queue import ClaimedJob, JobFailed
from storage.relays import accepted_relay_of
from storage.worker import JobHandler
from webfinger.convert import id_of
from webfinger.resolve import ResolveError, resolve_actor

logger = logging.getLogger(__name__)


async def _actor_of(ctx: Context, activity: dict[str, Any]) -> Account | None:
    actor_uri = id_of(activity.get("actor"))
    if actor_uri is None:
        return None
    if activity.get("type") == "Delete" and id_of(activity.get("object")) == actor_uri:
        async with ctx.db.read() as session:
            return await account_by_uri(session, actor_uri)
    if activity.get("type") == "Create":
        return await recent_actor(ctx, actor_uri)
    return await resolve_actor(ctx, actor_uri)


async def _handler_for(ctx: Context, kind: Any, relayed_by: str | None) -> Handler | None:
    """The activity type's handler; for a `Create` passed on by a relay we subscribe to, one that keeps the
    post although nobody here follows its author."""
    if kind == "Create" and relayed_by is not None:
        async with ctx.db.read() as session:
            relay = await accepted_relay_of(session, relayed_by)
        if relay is not None:
            return partial(handle_create, relay=relay)
    return HANDLERS.get(kind) if isinstance(kind, str) else None


async def process_activity(ctx: Context, activity: dict[str, Any], *, relayed_by: str | None = None) -> None:
    """Handle one verified activity (`relayed_by`: the actor who delivered it for its author, when it was
    re-fetched from its origin); raises Rejected, DomainRefused or ResolveError when it is dropped."""
    kind = activity.get("type")
    handler = await _handler_for(ctx, kind, relayed_by)
    if handler is None:
        logger.debug("ignoring %r activity %s", kind, activity.get("id"))
        return
    actor = await _actor_of(ctx, activity)
    if actor is None:
        return
    if actor.suspended_at is not None:
        raise Rejected(f"{actor.uri} is suspended")
    if kind == "Create":  # checked again when the status is stored
        await refuse_unfederated_recent(ctx, actor.uri)
    else:
        await refuse_unfederated(ctx, actor.uri)
    events = await handler(ctx, activity, actor)
    ctx.bus.publish_all(events)


def inbox_job_handler(ctx: Context) -> JobHandler:
    """The handler of the `inbox` queue, bound to `ctx`."""

    async def handle(job: ClaimedJob) -> int | None:
        activity = job.payload.get("activity")
        if not isinstance(activity, dict):
            raise JobFailed("job has no activity")
        try:
            relayed_by = job.payload.get("relayed_by")
            await process_activity(
                ctx, activity, relayed_by=relayed_by if isinstance(relayed_by, str) else None
            )
        except (Rejected, DomainRefused, ResolveError) as error:
            logger.info("dropped %s %s: %s", activity.get("type"), activity.get("id"), error)
            raise JobFailed(f"{type(error).__name__}: {error}") from error
        return None

    return handle
