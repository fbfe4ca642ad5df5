"""Subscribing to relays and leaving them: the instance actor's `Follow` to a relay's inbox, and its `Undo`.

As Mastodon does, the relay is named by its inbox and followed with the Public collection as the object; a
LitePub relay (Pleroma's, activityrelay) takes the same `Follow` and answers with `Accept` naming its actor,
which `inbox.handlers.relays` records. Each action is one transaction: the relay row, the activity and its
delivery job.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from apub.builders import build_activity, build_undo
from apub.hosts import host_of
from apub.vocab import PUBLIC
from outbox.actions._unit import Effects, after_commit, urls_of
from outbox.errors import NotFound, Unprocessable, ValidationCode
from storage.accounts import ensure_instance_actor
from storage.activities import add_activity, new_activity_id
from storage.audit import add_audit_entry
from storage.context import Context
from storage.deliveries import delivery_job_row
from storage.models import Account, Relay
from storage.queue import enqueue_many
from storage.relays import all_relays, relay_at, set_relay_state
from webfinger.resolve import domain_policy


def _checked_inbox(ctx: Context, inbox_url: str) -> str:
    """The relay's inbox URL if it is a remote http(s) URL without userinfo or fragment, else Unprocessable."""
    url = inbox_url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or host_of(url) is None or parts.username or parts.fragment:
        raise Unprocessable(f"not a relay inbox URL: {inbox_url!r}", field="inbox_url")
    if urls_of(ctx).is_local(url):
        raise Unprocessable("a relay cannot be this server", field="inbox_url")
    return url


def _follow(uri: str, instance_actor: Account) -> dict[str, Any]:
    return build_activity("Follow", uri, instance_actor.uri, PUBLIC)


async def _send(
    session: AsyncSession,
    ctx: Context,
    instance_actor: Account,
    inbox_url: str,
    activity_type: str,
    build: Any,
) -> str:
    """Store one activity of the instance actor and queue its delivery to `inbox_url`; its id (URL)."""
    activity_id = new_activity_id()
    uri = urls_of(ctx).activity(activity_id)
    await add_activity(
        session,
        activity_id=activity_id,
        uri=uri,
        account_id=instance_actor.id,
        activity_type=activity_type,
        payload=build(uri),
        visibility="direct",
    )
    await enqueue_many(
        session, [delivery_job_row(activity_id=activity_id, sender_id=instance_actor.id, inbox=inbox_url)]
    )
    return uri


async def add_relay(ctx: Context, inbox_url: str, *, actor: str) -> Relay:
    """Subscribe to the relay at `inbox_url` (pending until it accepts), audited as done by `actor`. Adding a
    relay again sends a new Follow only when it had refused; otherwise it returns the relay as it stands."""
    url = _checked_inbox(ctx, inbox_url)
    async with ctx.db.transaction() as session:
        host = host_of(url) or ""
        policy = await domain_policy(ctx, session, host)
        if policy.suspended or not policy.allowed:
            raise Unprocessable(
                f"{host} is not federated with", field="inbox_url", code=ValidationCode.BLOCKED
            )
        relay = await relay_at(session, url)
        if relay is not None and relay.state != "rejected":
            return relay
        instance_actor = await ensure_instance_actor(session, urls_of(ctx))
        follow_uri = await _send(
            session, ctx, instance_actor, url, "Follow", lambda uri: _follow(uri, instance_actor)
        )
        if relay is None:
            relay = Relay(inbox_url=url, follow_uri=follow_uri)
            session.add(relay)
        else:
            relay.follow_uri = follow_uri
            set_relay_state(relay, "pending")
        await session.flush()
        await add_audit_entry(session, actor=actor, action="relay.add", target=url, details={})
    after_commit(ctx, Effects(deliveries=1))
    return relay


async def remove_relay(ctx: Context, inbox_url: str, *, actor: str) -> Relay:
    """Unsubscribe: `Undo` of our Follow goes to the relay, and the relay row goes (audited as done by
    `actor`). Returns the removed row."""
    async with ctx.db.transaction() as session:
        relay = await relay_at(session, inbox_url.strip())
        if relay is None:
            raise NotFound(f"no relay at {inbox_url}")
        instance_actor = await ensure_instance_actor(session, urls_of(ctx))
        follow = _follow(relay.follow_uri, instance_actor)
        await _send(
            session,
            ctx,
            instance_actor,
            relay.inbox_url,
            "Undo",
            lambda uri: build_undo(uri, instance_actor.uri, follow),
        )
        await session.delete(relay)
        details = {"state": relay.state, "received": relay.received_count, "sent": relay.sent_count}
        await add_audit_entry(
            session, actor=actor, action="relay.remove", target=relay.inbox_url, details=details
        )
    after_commit(ctx, Effects(deliveries=1))
    return relay


async def list_relays(ctx: Context) -> list[Relay]:
    """Every subscribed relay with its state and counts, oldest first."""
    async with ctx.db.read() as session:
        return await all_relays(session)
