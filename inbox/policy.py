"""Domain policy on the receive path: which hosts we hear from at all, and what applies to their accounts.

A delivery is refused (403, nothing fetched) when the host of its signing key is suspended, is missing from
the allow-list in allow-list mode, is our own origin (a remote request cannot carry our keys), or is an
address literal the SSRF guard forbids. Handlers apply the same policy to every account an activity
involves, not only its sender.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from apub.errors import SignatureMalformed
from inbox.errors import DomainRefused
from storage.context import Context
from storage.domains import DomainPolicy
from storage.urls import LocalUrls
from webfinger.convert import host_of
from webfinger.resolve import domain_policy


async def policy_of_url(ctx: Context, url: str) -> DomainPolicy:
    """The moderation policy of the host of `url`."""
    async with ctx.db.read() as session:
        return await domain_policy(ctx, session, host_of(url) or "")


async def refuse_unfederated(ctx: Context, url: str) -> DomainPolicy:
    """Raise DomainRefused when we do not federate with the host of `url`; else return its policy."""
    policy = await policy_of_url(ctx, url)
    if policy.suspended:
        raise DomainRefused(f"{host_of(url)} is suspended")
    if not policy.allowed:
        raise DomainRefused(f"{host_of(url)} is not on the allow-list")
    return policy


async def check_key_host(ctx: Context, key_id: str) -> None:
    """Refuse a signing key on a host we do not hear from, before anything about it is fetched."""
    if host_of(key_id) is None:
        raise SignatureMalformed("keyId is not an http(s) URL")
    if LocalUrls(ctx.base_url).is_local(key_id):
        raise DomainRefused("a delivery cannot be signed with a key of this instance")
    hostname = urlsplit(key_id).hostname or ""
    if ctx.http is not None:
        ctx.http.guard.check_literal(hostname)  # UnsafeAddress (403) for private address literals
    await refuse_unfederated(ctx, key_id)
