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
from typing import Any

from inbox.actors import recent_actor
from inbox.errors import DomainRefused, Rejected
from inbox.handlers import HANDLERS
from inbox.policy import refuse_unfederated, refuse_unfederated_recent
from storage.accounts import account_by_uri
from storage.context import Context
from storage.models import Account
from storage.queue import ClaimedJob, JobFailed
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


async def process_activity(ctx: Context, activity: dict[str, Any]) -> None:
    """Handle one verified activity; raises Rejected, DomainRefused or ResolveError when it is dropped."""
    kind = activity.get("type")
    handler = HANDLERS.get(kind) if isinstance(kind, str) else None
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
            await process_activity(ctx, activity)
        except (Rejected, DomainRefused, ResolveError) as error:
            logger.info("dropped %s %s: %s", activity.get("type"), activity.get("id"), error)
            raise JobFailed(f"{type(error).__name__}: {error}") from error
        return None

    return handle
