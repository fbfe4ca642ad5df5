"""The signature key lookup bound to storage: `apub.httpsig.KeyResolver` with its keys persisted in the
`remote_keys` table, fetching through `ctx.http` signed by the instance actor.

Keys of local actors never leave the database: a keyId on our own origin is answered from `accounts`, with
no HTTP. `StorageKeyLookup.known()` tells whether a key was ever seen without fetching anything; the inbox
uses it to answer a `Delete` from an actor we never knew without a fetch.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from apub.errors import SignatureInvalid
from apub.httpsig import KeyResolver, PublicKeyRecord
from apub.keys import load_public_key, public_key_to_pem
from storage.context import Context
from storage.models import Account, RemoteKey
from storage.types import utcnow
from storage.urls import LocalUrls
from webfinger.fetch import fetch_object


def _key_type(record: PublicKeyRecord) -> str:
    if isinstance(record.public_key, rsa.RSAPublicKey):
        return "rsa"
    if isinstance(record.public_key, ed25519.Ed25519PublicKey):
        return "ed25519"
    return "p256"


class StorageKeyLookup:
    """A `KeyLookup` (see `apub.httpsig.verify`) over memory, the `remote_keys` table, then the network."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._urls = LocalUrls(ctx.base_url)
        self._resolver = KeyResolver(self._fetch, load=self._load, save=self._save)

    async def __call__(self, key_id: str, *, refresh: bool = False) -> PublicKeyRecord:
        if self._urls.is_local(key_id):
            return await self._local(key_id)
        return await self._resolver(key_id, refresh=refresh)

    async def known(self, key_id: str) -> bool:
        """True when the key is stored (or local), so using it costs no fetch."""
        if self._urls.is_local(key_id):
            return True
        async with self._ctx.db.read() as session:
            return await session.get(RemoteKey, key_id) is not None

    async def owner_of(self, key_id: str) -> str | None:
        """The actor owning a stored key, without fetching (None when the key is unknown)."""
        async with self._ctx.db.read() as session:
            row = await session.get(RemoteKey, key_id)
        return row.owner_uri if row else None

    async def _fetch(self, url: str) -> dict[str, Any]:
        return await fetch_object(self._ctx, url)

    async def _local(self, key_id: str) -> PublicKeyRecord:
        async with self._ctx.db.read() as session:
            account = (
                await session.execute(
                    select(Account).where(Account.public_key_id == key_id, Account.domain.is_(None))
                )
            ).scalar_one_or_none()
        if account is None or not account.public_key_pem:
            raise SignatureInvalid(f"no local key {key_id}")
        return PublicKeyRecord(
            key_id=key_id, owner=account.uri, public_key=load_public_key(account.public_key_pem)
        )

    async def _load(self, key_id: str) -> PublicKeyRecord | None:
        async with self._ctx.db.read() as session:
            row = await session.get(RemoteKey, key_id)
        if row is None:
            return None
        return PublicKeyRecord(
            key_id=key_id, owner=row.owner_uri, public_key=load_public_key(row.public_key_pem)
        )

    async def _save(self, record: PublicKeyRecord) -> None:
        values = {
            "key_id": record.key_id,
            "owner_uri": record.owner,
            "key_type": _key_type(record),
            "public_key_pem": public_key_to_pem(record.public_key),
            "fetched_at": utcnow(),
        }
        async with self._ctx.db.transaction() as session:
            insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
            statement = insert(RemoteKey).values(**values)
            statement = statement.on_conflict_do_update(
                index_elements=["key_id"],
                set_={
                    name: statement.excluded[name]
                    for name in ("owner_uri", "key_type", "public_key_pem", "fetched_at")
                },
            )
            await session.execute(statement)
