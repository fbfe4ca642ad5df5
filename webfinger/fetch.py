"""Signed GETs of remote objects, made on behalf of the server by its instance actor.

Servers in "authorized fetch" mode (Mastodon's secure mode, GoToSocial) answer only signed GETs, so every
server-initiated fetch is signed with the instance actor's keys. The signer is built once per process and
kept in `ctx.caches`; the SSRF guard, size and time limits are those of `ctx.http` (`apub.client`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from apub.client import FederationClient
from apub.httpsig import SchemeMemory, SignatureAuth
from apub.keys import load_private_key
from storage.accounts import ensure_instance_actor, signing_keys
from storage.context import Context
from storage.urls import LocalUrls

_AUTH_CACHE = "webfinger.instance_actor_auth"
_AUTH_BUILD = "webfinger.instance_actor_auth.building"


def federation_client(ctx: Context) -> FederationClient:
    """The shared federation client of the context (built by the composition root)."""
    if ctx.http is None:
        raise RuntimeError("ctx.http is not set: the composition root builds the FederationClient")
    return ctx.http


async def instance_actor_auth(ctx: Context) -> SignatureAuth:
    """The `httpx.Auth` that signs requests as the instance actor (built once, then cached on `ctx`)."""
    auth = ctx.caches.get(_AUTH_CACHE)
    if auth is not None:
        return auth
    # The first burst of fetches after a start would otherwise all build it at once.
    building: asyncio.Task[SignatureAuth] | None = ctx.caches.get(_AUTH_BUILD)
    if building is None:
        building = ctx.caches[_AUTH_BUILD] = asyncio.ensure_future(_build_instance_actor_auth(ctx))
    try:
        return await asyncio.shield(building)
    finally:
        if building.done():
            ctx.caches.pop(_AUTH_BUILD, None)


async def _build_instance_actor_auth(ctx: Context) -> SignatureAuth:
    async with ctx.db.transaction() as session:
        actor = await ensure_instance_actor(session, LocalUrls(ctx.base_url))
        keys = await signing_keys(session, actor)
    rsa_key = load_private_key(keys.rsa_private_pem, ours=True)
    ed_key = load_private_key(keys.ed25519_private_pem, ours=True)
    assert isinstance(rsa_key, rsa.RSAPrivateKey) and isinstance(ed_key, ed25519.Ed25519PrivateKey)
    if ctx.scheme_memory is None:
        ctx.scheme_memory = SchemeMemory()
    auth = SignatureAuth(
        keys.rsa_key_id,
        rsa_key,
        scheme_memory=ctx.scheme_memory,
        ed25519_key_id=keys.ed25519_key_id,
        ed25519_private_key=ed_key,
    )
    ctx.caches[_AUTH_CACHE] = auth
    return auth


async def fetch_object(ctx: Context, url: str) -> dict[str, Any]:
    """GET an ActivityStreams document whose `id` is the URL it was served from (see
    `FederationClient.fetch_object`), signed by the instance actor. Raises `apub.errors.FetchError`."""
    return await federation_client(ctx).fetch_object(url, auth=await instance_actor_auth(ctx))


async def fetch_json(ctx: Context, url: str) -> dict[str, Any]:
    """GET a JSON document (WebFinger, NodeInfo), signed by the instance actor."""
    return await federation_client(ctx).fetch_json(url, auth=await instance_actor_auth(ctx))
