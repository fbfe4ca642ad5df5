"""Domain policy on the receive path: which hosts we hear from at all, and what applies to their accounts.

A delivery is refused (403, nothing fetched) when the host of its signing key is suspended, is missing from
the allow-list in allow-list mode, is our own origin (a remote request cannot carry our keys), or is an
address literal the SSRF guard forbids. Handlers apply the same policy to every account an activity
involves, not only its sender.
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

from apub.errors import SignatureMalformed
from apub.hosts import host_of
from inbox.errors import DomainRefused
from storage.context import Context
from storage.domains import DomainPolicy
from storage.urls import LocalUrls
from webfinger.resolve import domain_policy


async def policy_of_url(ctx: Context, url: str) -> DomainPolicy:
    """The moderation policy of the host of `url`."""
    async with ctx.db.read() as session:
        return await domain_policy(ctx, session, host_of(url) or "")


async def refuse_unfederated(ctx: Context, url: str) -> DomainPolicy:
    """Raise DomainRefused when we do not federate with the host of `url`; else return its policy."""
    policy = await policy_of_url(ctx, url)
    refuse_by_policy(host_of(url) or "", policy)
    return policy


# The first look at a delivery's host uses a permissive policy at most this old, so a flood of deliveries costs no
# database read each; the authoritative check runs again in the transaction that queues the delivery.
POLICY_CACHE_SECONDS = 5.0
_POLICY_CACHE = "inbox.policy_cache"
_POLICY_READS = "inbox.policy_reads"
_PASSED_KEYS = "inbox.passed_keys"


def refuse_by_policy(host: str, policy: DomainPolicy) -> None:
    """Raise DomainRefused when `policy` forbids hearing from `host`."""
    refusal = policy.refusal(host)
    if refusal is not None:
        raise DomainRefused(refusal)


async def _read_policy(ctx: Context, host: str, cache: dict[str, tuple[DomainPolicy, float]]) -> DomainPolicy:
    now = time.monotonic()
    async with ctx.db.read() as session:
        policy = await domain_policy(ctx, session, host)
    if not policy.suspended and policy.allowed:  # only good news is cached: a refusal is re-read
        if len(cache) > 10_000:
            cache.clear()
        cache[host] = (policy, now)
    return policy


async def _recent_policy(ctx: Context, host: str) -> DomainPolicy:
    cache: dict[str, tuple[DomainPolicy, float]] = ctx.caches.setdefault(_POLICY_CACHE, {})
    cached = cache.get(host)
    if cached is not None and time.monotonic() - cached[1] < POLICY_CACHE_SECONDS:
        return cached[0]
    # When an entry expires under a flood, every delivery in flight misses at once: they share one read.
    reads: dict[str, asyncio.Task[DomainPolicy]] = ctx.caches.setdefault(_POLICY_READS, {})
    read = reads.get(host)
    if read is None:
        read = reads[host] = asyncio.create_task(_read_policy(ctx, host, cache))
        read.add_done_callback(lambda _: reads.pop(host, None))
    return await asyncio.shield(read)


async def refuse_unfederated_recent(ctx: Context, url: str) -> None:
    """`refuse_unfederated` on a permissive policy read up to POLICY_CACHE_SECONDS ago; for callers that
    check again, authoritatively, in the transaction that acts on `url`."""
    host = host_of(url) or ""
    refuse_by_policy(host, await _recent_policy(ctx, host))


def _literal_host(url: str) -> str:
    """The host of `url` as urlsplit reads it (for the SSRF guard's look at address literals); "" if none."""
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def forget_policies(ctx: Context) -> None:
    """Drop this process's cached policies (after a moderation action changed them): the next look reads
    the database. Other processes see the change within POLICY_CACHE_SECONDS."""
    for name in (_POLICY_CACHE, _PASSED_KEYS):
        ctx.caches.get(name, {}).clear()


async def check_key_host(ctx: Context, key_id: str, *, recent: bool = False) -> None:
    """Refuse a signing key on a host we do not hear from, before anything about it is fetched.

    `recent=True` accepts a policy read up to POLICY_CACHE_SECONDS ago (the inbox re-checks when queueing);
    then a key that passed every check within that time passes again at the cost of a dict lookup.
    """
    passed: dict[str, float] = ctx.caches.setdefault(_PASSED_KEYS, {})
    if recent:
        passed_at = passed.get(key_id)
        if passed_at is not None and time.monotonic() - passed_at < POLICY_CACHE_SECONDS:
            return
    hostname = _literal_host(key_id)
    if host_of(key_id) is None:
        if ctx.http is not None and hostname:
            ctx.http.guard.check_literal(hostname)  # a private address however spelled: 403, as below
        raise SignatureMalformed("keyId is not an http(s) URL with a well-formed host")
    if LocalUrls(ctx.base_url).is_local(key_id):
        raise DomainRefused("a delivery cannot be signed with a key of this instance")
    if ctx.http is not None:
        ctx.http.guard.check_literal(hostname)  # UnsafeAddress (403) for private address literals
    if recent:
        host = host_of(key_id) or ""
        refuse_by_policy(host, await _recent_policy(ctx, host))
        if len(passed) >= 10_000:
            passed.clear()
        passed[key_id] = ctx.caches[_POLICY_CACHE].get(host, (None, float("-inf")))[1]
    else:
        await refuse_unfederated(ctx, key_id)
