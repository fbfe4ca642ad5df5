"""The world of inbox tests: a real Plein instance (uvicorn, same event loop), two fake remote servers with
actors whose keys are generated here, and local accounts to deliver to."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from apub.ssrf import Resolver
from plein.jobs import job_handlers
from storage.accounts import create_local_account
from storage.context import Context
from storage.models import (
    Account,
    Activity,
    Block,
    Favourite,
    Follow,
    FollowRequest,
    Job,
    Notification,
    Report,
    Status,
)
from storage.urls import LocalUrls
from storage.worker import drain
from support.inbox_remote import FakeRemote, RemoteActor, deliver, new_rsa_pem
from support.instance import RunningInstance, make_settings, serve_in_process

COUNTED = (Status, Follow, FollowRequest, Favourite, Block, Notification, Report, Activity, Job)

# RSA key generation is the slow part of set-up: a few keys serve every test of a run.
_KEYS: list[str] = []


def rsa_pem(index: int) -> str:
    while len(_KEYS) <= index:
        _KEYS.append(new_rsa_pem())
    return _KEYS[index]


@dataclass
class InboxWorld:
    """Plein at `instance`, remotes `remote` (actors ann, ben) and `other` (actor eve); local alice
    (open) and bob (locked)."""

    instance: RunningInstance
    client: httpx.AsyncClient
    remote: FakeRemote
    other: FakeRemote
    ann: RemoteActor
    ben: RemoteActor
    eve: RemoteActor
    alice: Account
    bob: Account

    @property
    def ctx(self) -> Context:
        assert self.instance.ctx is not None
        return self.instance.ctx

    @property
    def shared_inbox(self) -> str:
        return f"{self.instance.base_url}/inbox"

    def inbox_of(self, username: str) -> str:
        return f"{self.instance.base_url}/users/{username}/inbox"

    async def deliver(
        self, activity: dict[str, Any] | bytes, signer: RemoteActor, **options: Any
    ) -> httpx.Response:
        return await deliver(self.client, self.shared_inbox, activity, signer, **options)

    async def drain(self) -> int:
        return await drain(self.ctx.db, job_handlers(self.ctx))

    async def counts(self) -> dict[str, int]:
        async with self.ctx.db.read() as session:
            return {
                model.__tablename__: int(await session.scalar(select(func.count()).select_from(model)) or 0)
                for model in COUNTED
            }

    async def scalar(self, statement: Any) -> Any:
        async with self.ctx.db.read() as session:
            return await session.scalar(statement)

    async def follow_locally(self, local: Account, remote_actor: RemoteActor) -> None:
        """Make `local` follow `remote_actor` (stored directly: the outbox's business, not ours)."""
        account = await self.scalar(select(Account).where(Account.uri == remote_actor.uri))
        if account is None:
            from webfinger.resolve import resolve_actor

            account = await resolve_actor(self.ctx, remote_actor.uri)
        async with self.ctx.db.transaction() as session:
            session.add(Follow(account_id=local.id, target_account_id=account.id))


async def build_world(
    tmp_path: Path, database_url: str = "", *, resolver: Resolver | None = None, **overrides: Any
) -> AsyncIterator[InboxWorld]:
    settings = make_settings(tmp_path, database_url=database_url, **overrides)
    remote, other = FakeRemote(), FakeRemote()
    ann = remote.add_actor("ann", rsa_pem(0))
    ben = remote.add_actor("ben", rsa_pem(1))
    eve = other.add_actor("eve", rsa_pem(2))
    async with serve_in_process(settings, resolver=resolver) as instance, remote.running(), other.running():
        assert instance.ctx is not None
        async with instance.ctx.db.transaction() as session:
            urls = LocalUrls(instance.base_url)
            alice = await create_local_account(session, urls, username="alice", password_hash="x")
            bob = await create_local_account(session, urls, username="bob", password_hash="x")
            bob.locked = True
        async with instance.client() as client:
            yield InboxWorld(instance, client, remote, other, ann, ben, eve, alice, bob)
