"""The inbox routes: `POST /inbox` (shared) and `POST /users/{username}/inbox` (personal).

Each step may refuse the delivery; nothing is written before the last one (see the package docstring for
the order and the status codes).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import exists, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from apub.errors import ApubError, FetchStatus
from apub.hosts import host_of, same_origin
from inbox.checks import check_activity
from inbox.errors import ActorMismatch, DomainRefused, UnknownRecipient
from inbox.parse import ActivityIdentity, check_content_type, identify, parse_json, peek_json, read_body
from inbox.policy import check_key_host, refuse_unfederated
from inbox.queueing import inbox_queue
from inbox.verify import signature_key_ids, verify_signature
from storage.accounts import is_account_actor, local_account_by_username
from storage.context import Context
from storage.models import Account
from storage.urls import LocalUrls
from webfinger.convert import id_of
from webfinger.fetch import fetch_object

logger = logging.getLogger(__name__)


async def _is_unknown_actor_delete(ctx: Context, key_ids: list[str], body: bytes) -> bool:
    """A `Delete` signed by a key we never stored, from an actor we never stored: there is nothing to
    delete, and verifying it would mean fetching a key that is most likely gone (Mastodon does the same)."""
    if b"Delete" not in body:  # cheaper than parsing; an escaped spelling only costs a normal verification
        return False
    document = peek_json(body)
    if document is None or document.get("type") != "Delete":
        return False
    known = getattr(ctx.key_lookup, "known", None)
    if known is None:
        return False
    for key_id in key_ids:
        if await known(key_id):
            return False
    actor_uri = id_of(document.get("actor"))
    if actor_uri is None:
        return False
    async with ctx.db.read() as session:
        return not await session.scalar(select(exists().where(Account.uri == actor_uri)))


async def _gone_actor_delete(ctx: Context, key_ids: list[str], body: bytes) -> dict[str, Any] | None:
    """A `Delete` of an actor by itself, signed with a key we never stored, from an actor we did store (known
    only through WebFinger, say): the key went with the actor, so the signature cannot be checked, and the
    actor's own origin decides instead — when it answers 410 Gone for the actor, the actor is gone (Mastodon
    accepts such a Delete the same way). Returns the activity to queue, or None to verify it normally."""
    if b"Delete" not in body:
        return None
    document = peek_json(body)
    if document is None or document.get("type") != "Delete":
        return None
    actor_uri = id_of(document.get("actor"))
    known = getattr(ctx.key_lookup, "known", None)
    if actor_uri is None or id_of(document.get("object")) != actor_uri or known is None or not key_ids:
        return None
    for key_id in key_ids:
        if await known(key_id) or not same_origin(key_id, actor_uri):
            return None
    await refuse_unfederated(ctx, actor_uri)
    try:
        await fetch_object(ctx, actor_uri)
    except FetchStatus as error:
        return document if error.remote_status == 410 else None
    except ApubError:
        return None
    return None  # the actor is still there: its key can be fetched and checked as usual


async def _refetch_relayed(
    ctx: Context, identity: ActivityIdentity
) -> tuple[dict[str, Any], ActivityIdentity]:
    """An activity signed by someone other than its actor counts only as its origin serves it."""
    await refuse_unfederated(ctx, identity.activity_id)
    try:
        activity = await fetch_object(ctx, identity.activity_id)
    except ApubError as error:
        raise ActorMismatch(
            f"signed by someone else than its actor, and not served by its origin: {error}"
        ) from None
    return activity, identify(activity)


async def receive(request: Request, recipient: str | None) -> Response:
    """Run a delivery through every check, then queue it (deduplicated by activity id) and answer 202;
    counted in the metrics as accepted, or by the name of the error that refused it."""
    ctx: Context = request.state.ctx
    try:
        outcome = await _checked_and_queued(request, ctx, recipient)
    except Exception as error:
        ctx.metrics.inbox.labels(type(error).__name__).inc()
        raise
    ctx.metrics.inbox.labels(outcome).inc()
    return Response(status_code=202)


async def _checked_and_queued(request: Request, ctx: Context, recipient: str | None) -> str:
    if recipient is not None:
        async with ctx.db.read() as session:
            account = await local_account_by_username(session, recipient)
        if account is None or not is_account_actor(account):
            raise UnknownRecipient("no such inbox")
    body = await read_body(request)
    check_content_type(request)
    key_ids = signature_key_ids(request)
    for key_id in key_ids:
        await check_key_host(ctx, key_id, recent=True)
    if await _is_unknown_actor_delete(ctx, key_ids, body):
        return "ignored_unknown_actor_delete"
    gone = await _gone_actor_delete(ctx, key_ids, body)
    if gone is not None:
        await _check_and_queue(ctx, gone, identify(gone), recipient)
        return "accepted_gone_actor_delete"
    signer = await verify_signature(request, ctx, body)
    activity = parse_json(body)
    identity = identify(activity)
    if LocalUrls(ctx.base_url).is_local(identity.actor_uri):
        raise DomainRefused("a remote delivery cannot speak for a local actor")
    relayed_by = None
    if signer.owner != identity.actor_uri:
        activity, identity = await _refetch_relayed(ctx, identity)
        relayed_by = signer.owner  # a relay's Create counts as relayed if the worker finds it subscribed
    await _check_and_queue(ctx, activity, identity, recipient, relayed_by=relayed_by)
    return "accepted"


async def _check_and_queue(
    ctx: Context,
    activity: dict[str, Any],
    identity: ActivityIdentity,
    recipient: str | None,
    *,
    relayed_by: str | None = None,
) -> None:
    await check_activity(ctx, activity, identity)
    payload: dict[str, Any] = {"activity": activity, "recipient": recipient}
    if relayed_by is not None:
        payload["relayed_by"] = relayed_by
    # The domain policy of the actor's host is checked in the queueing transaction itself.
    await inbox_queue(ctx).put(
        payload,
        dedupe_key=identity.activity_id,
        host=host_of(identity.actor_uri) or "",
    )


async def shared_inbox(request: Request) -> Response:
    return await receive(request, None)


async def personal_inbox(request: Request) -> Response:
    return await receive(request, request.path_params["username"])


routes = [
    Route("/inbox", shared_inbox, methods=["POST"]),
    Route("/users/{username}/inbox", personal_inbox, methods=["POST"]),
]
