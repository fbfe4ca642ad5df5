"""Resolve a signature's keyId to a public key and the actor that owns it.

``KeyResolver`` implements ``KeyLookup`` for ``verify_request``. It never performs HTTP
itself: it is given ``fetch_json`` (the safe federation client's AS2 fetch) and, optionally,
``load``/``save`` hooks through which the storage layer can add a persistent key cache.

Resolution rules (never guess an owner by cutting the keyId at ``#``):

* The keyId document may be an **actor** (``https://host/users/alice#main-key`` dereferences
  to the actor): the key must be listed in its ``publicKey`` (object or list) or in its
  ``assertionMethod`` Multikeys, with a matching ``owner``/``controller`` if one is given.
  The actor must live on the keyId's origin.
* It may be the **key itself** (``owner``/``controller`` names the actor): the owner actor is
  fetched and must list that key id; otherwise the key is rejected (``SignatureInvalid``).

Keys are cached in memory for ``ttl``; failed fetches are cached for ``negative_ttl`` and
raised as ``KeyUnavailable`` (503, the sender retries later) — except a fetch whose signature
the key's host refused (401/403 to both knocks): that is scheme negotiation failing, not the
key, and it is never cached. ``refresh=True`` bypasses the cache once (key rotation) but at
most once per ``min_refresh_interval`` per key, so a stream of bad signatures cannot turn
into a stream of fetches.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from apub.errors import FetchStatus, KeyUnavailable, SignatureInvalid
from apub.hosts import same_origin
from apub.httpsig.verify import PublicKeyRecord
from apub.keys import PublicKey, load_public_key, multibase_to_public_key

__all__ = ["KeyResolver", "key_record_from_actor"]

FetchJson = Callable[[str], Awaitable[dict[str, Any]]]
LoadRecord = Callable[[str], Awaitable[PublicKeyRecord | None]]
SaveRecord = Callable[[PublicKeyRecord], Awaitable[None]]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _id_of(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return value["id"]
    return None


def _refused_our_signature(error: Exception) -> bool:
    """True when the key's host refused the signature of our fetch (401/403 to both knocks): a failure of
    scheme negotiation, which the next fetch may get past, so it is not cached as the key's failure."""
    cause = error.__cause__
    return isinstance(cause, FetchStatus) and cause.remote_status in (401, 403)


def _load_key(entry: dict[str, Any]) -> PublicKey:
    pem = entry.get("publicKeyPem")
    multibase = entry.get("publicKeyMultibase")
    try:
        if isinstance(pem, str):
            return load_public_key(pem)
        if isinstance(multibase, str):
            return multibase_to_public_key(multibase)
    except ValueError as error:
        raise SignatureInvalid(f"unusable public key material: {error}") from None
    raise SignatureInvalid("key has neither publicKeyPem nor publicKeyMultibase")


def key_record_from_actor(actor: dict[str, Any], key_id: str) -> PublicKeyRecord:
    """Find ``key_id`` in an actor's ``publicKey`` or ``assertionMethod`` and load it.

    Raises ``SignatureInvalid`` when the actor does not list the key, the key names another
    owner, or its material is unusable.
    """
    actor_id = actor.get("id")
    if not isinstance(actor_id, str):
        raise SignatureInvalid("actor document has no id")
    for entry in _as_list(actor.get("publicKey")) + _as_list(actor.get("assertionMethod")):
        if not isinstance(entry, dict) or entry.get("id") != key_id:
            continue
        claimed_owner = _id_of(entry.get("owner")) or _id_of(entry.get("controller"))
        if claimed_owner is not None and claimed_owner != actor_id:
            raise SignatureInvalid(f"key {key_id} names owner {claimed_owner}, not {actor_id}")
        return PublicKeyRecord(key_id=key_id, owner=actor_id, public_key=_load_key(entry))
    raise SignatureInvalid(f"actor {actor_id} does not list key {key_id}")


class KeyResolver:
    """A caching ``KeyLookup`` over an injected JSON fetcher (see the module docstring)."""

    def __init__(
        self,
        fetch_json: FetchJson,
        *,
        load: LoadRecord | None = None,
        save: SaveRecord | None = None,
        ttl: float = 3600.0,
        negative_ttl: float = 60.0,
        min_refresh_interval: float = 60.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch_json = fetch_json
        self._load = load
        self._save = save
        self._ttl = ttl
        self._negative_ttl = negative_ttl
        self._min_refresh_interval = min_refresh_interval
        self._max_entries = max_entries
        self._clock = clock
        # key_id -> (record, cached_at, fetched remotely?); key_id -> (error, failed_at)
        self._keys: dict[str, tuple[PublicKeyRecord, float, bool]] = {}
        self._failures: dict[str, tuple[Exception, float]] = {}
        self._resolving: dict[tuple[str, bool], asyncio.Future[PublicKeyRecord]] = {}

    async def __call__(self, key_id: str, *, refresh: bool = False) -> PublicKeyRecord:
        """Return the key record for ``key_id``; raise ``KeyUnavailable`` or ``SignatureInvalid``."""
        cached = self._keys.get(key_id)
        if cached is not None and not refresh and self._clock() - cached[1] < self._ttl:
            return cached[0]
        # Lookups of one key that overlap share one resolution: a new sender's first deliveries arrive
        # together, and each fetching (and saving) the key itself would multiply the requests to its server.
        flight = (key_id, refresh)
        resolving = self._resolving.get(flight)
        if resolving is None:
            resolving = self._resolving[flight] = asyncio.ensure_future(self._lookup(key_id, refresh))
            resolving.add_done_callback(partial(self._landed, flight))
        return await asyncio.shield(resolving)  # a caller that gives up does not cancel the others' lookup

    def _landed(self, flight: tuple[str, bool], resolving: asyncio.Future[PublicKeyRecord]) -> None:
        del self._resolving[flight]
        if not resolving.cancelled():
            resolving.exception()  # retrieved: a failure whose callers all gave up is no "lost" error

    async def _lookup(self, key_id: str, refresh: bool) -> PublicKeyRecord:
        now = self._clock()
        cached = self._keys.get(key_id)
        if cached is not None:
            record, cached_at, fetched = cached
            if not refresh and now - cached_at < self._ttl:
                return record
            # A record loaded from storage may be arbitrarily old, so a refresh always fetches;
            # one fetched here recently is kept, to bound fetches caused by bad signatures.
            if refresh and fetched and now - cached_at < self._min_refresh_interval:
                return record
        if not refresh:
            failure = self._failures.get(key_id)
            if failure is not None and now - failure[1] < self._negative_ttl:
                raise failure[0]
            if cached is None and self._load is not None:
                stored = await self._load(key_id)
                if stored is not None:
                    self._remember(key_id, stored, now, fetched=False)
                    return stored
        try:
            record = await self._resolve(key_id)
        except (KeyUnavailable, SignatureInvalid) as error:
            if not _refused_our_signature(error):
                self._failures[key_id] = (error, now)
                self._trim(self._failures)
            raise
        self._failures.pop(key_id, None)
        self._remember(key_id, record, now, fetched=True)
        if self._save is not None:
            await self._save(record)
        return record

    def _remember(self, key_id: str, record: PublicKeyRecord, now: float, *, fetched: bool) -> None:
        self._keys.pop(key_id, None)  # re-insert at the end: the oldest entries are trimmed first
        self._keys[key_id] = (record, now, fetched)
        self._trim(self._keys)

    def _trim(self, cache: dict[str, Any]) -> None:
        # Dicts keep insertion order: dropping the first entries drops the oldest ones.
        while len(cache) > self._max_entries:
            del cache[next(iter(cache))]

    async def _fetch(self, url: str) -> dict[str, Any]:
        try:
            document = await self._fetch_json(url)
        except Exception as error:  # any fetch failure means "not now", never "invalid"
            raise KeyUnavailable(f"could not fetch {url}: {error}") from error
        if not isinstance(document, dict):
            raise KeyUnavailable(f"{url} did not return a JSON object")
        return document

    async def _resolve(self, key_id: str) -> PublicKeyRecord:
        document = await self._fetch(key_id)
        if document.get("id") == key_id and ("publicKeyPem" in document or "publicKeyMultibase" in document):
            # The keyId is a standalone key document: its owner must vouch for it.
            owner_id = _id_of(document.get("owner")) or _id_of(document.get("controller"))
            if owner_id is None:
                raise SignatureInvalid(f"key {key_id} names no owner")
            actor = await self._fetch(owner_id)
            if actor.get("id") != owner_id:
                raise SignatureInvalid(f"owner document {owner_id} has a different id")
            listed = {
                _id_of(entry)
                for entry in _as_list(actor.get("publicKey")) + _as_list(actor.get("assertionMethod"))
            }
            if key_id not in listed:
                raise SignatureInvalid(f"owner {owner_id} does not list key {key_id}")
            return PublicKeyRecord(key_id=key_id, owner=owner_id, public_key=_load_key(document))
        actor_id = document.get("id")
        if not isinstance(actor_id, str) or not same_origin(actor_id, key_id):
            raise SignatureInvalid(f"document for {key_id} is not on the key's origin")
        return key_record_from_actor(document, key_id)
