"""A short-lived cache of the remote accounts that send us activities.

A busy sender delivers many activities a second; reading its account row for each one is a database round
trip per job. The `Create` path reads the sender from here and re-checks what must be current (domain
policy, suspension, silence) in the transaction that stores the status (`inbox.notes`). Handlers that
change an account (profile `Update`, actor `Delete`, `Move`) forget it.
"""

from __future__ import annotations

import time

from storage.context import Context
from storage.models import Account
from webfinger.resolve import resolve_actor

ACTOR_CACHE_SECONDS = 10.0
MAX_CACHED_ACTORS = 10_000
_ACTOR_CACHE = "inbox.actors"


def _cache(ctx: Context) -> dict[str, tuple[Account, float]]:
    return ctx.caches.setdefault(_ACTOR_CACHE, {})


async def recent_actor(ctx: Context, uri: str) -> Account:
    """The stored (or fetched) account of actor `uri`, as read up to ACTOR_CACHE_SECONDS ago."""
    cache = _cache(ctx)
    now = time.monotonic()
    cached = cache.get(uri)
    if cached is not None and now - cached[1] < ACTOR_CACHE_SECONDS:
        return cached[0]
    account = await resolve_actor(ctx, uri)
    if len(cache) >= MAX_CACHED_ACTORS:
        cache.clear()
    cache[uri] = (account, now)
    return account


def forget_actor(ctx: Context, uri: str) -> None:
    """Drop a cached account (after a write that changes it)."""
    _cache(ctx).pop(uri, None)
