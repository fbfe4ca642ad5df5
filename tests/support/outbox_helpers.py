"""Helpers for outbox tests: read back the jobs and activities an action wrote."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from apub.errors import ApubError, KeyUnavailable
from apub.httpsig import PublicKeyRecord, verify_request
from apub.keys import load_public_key
from outbox.fan_out import fan_out_handler
from storage.accounts import ed25519_public_pem
from storage.context import Context
from storage.deliveries import FAN_OUT_QUEUE
from storage.models import Account, Activity, Job
from storage.worker import drain
from support.instance import free_port, serve_app


async def jobs_of(ctx: Context, queue: str) -> list[Job]:
    """The jobs of one queue, oldest first, as they stand (nothing run)."""
    async with ctx.db.read() as session:
        return list((await session.execute(select(Job).where(Job.queue == queue).order_by(Job.id))).scalars())


async def delivery_jobs(ctx: Context) -> list[Job]:
    """The delivery jobs, once the followers' `fan_out` jobs have been expanded, as a worker would."""
    await drain(ctx.db, {FAN_OUT_QUEUE: fan_out_handler(ctx)})
    async with ctx.db.read() as session:
        return list(
            (await session.execute(select(Job).where(Job.queue == "deliver").order_by(Job.id))).scalars()
        )


async def activities(ctx: Context, activity_type: str | None = None) -> list[Activity]:
    async with ctx.db.read() as session:
        statement = select(Activity).order_by(Activity.id)
        if activity_type:
            statement = statement.where(Activity.activity_type == activity_type)
        return list((await session.execute(statement)).scalars())


@dataclass
class ReceivedDelivery:
    """One POST an inbox server got, with who signed it (None when the signature did not verify)."""

    path: str
    body: dict[str, Any]
    signer: str | None
    scheme: str | None
    error: str | None


@dataclass
class InboxFarm:
    """Inbox servers on 127.0.0.1 that verify signatures and answer what `respond` decides per path."""

    base_url: str
    received: list[ReceivedDelivery] = field(default_factory=list)
    responses: dict[str, tuple[int, dict[str, str]]] = field(default_factory=dict)
    keys: dict[str, PublicKeyRecord] = field(default_factory=dict)
    refused_scheme: str | None = None  # answer 401 to signatures of this scheme, as a server lacking it does

    def trust(self, key_id: str, owner: str, public_pem: str) -> None:
        """Make a key known to the farm's verifier (as if fetched from the actor document)."""
        self.keys[key_id] = PublicKeyRecord(
            key_id=key_id, owner=owner, public_key=load_public_key(public_pem)
        )

    async def lookup(self, key_id: str, *, refresh: bool = False) -> PublicKeyRecord:
        try:
            return self.keys[key_id]
        except KeyError:
            raise KeyUnavailable(f"unknown key {key_id}") from None


class KeyTrusting(Protocol):
    """A test receiver that verifies signatures against keys it is taught (`InboxFarm`, `support.farm.Farm`)."""

    def trust(self, key_id: str, owner: str, public_pem: str) -> None: ...


async def trust_local_account(farm: KeyTrusting, ctx: Context, account: Account) -> None:
    """Teach the farm both public keys of a local account."""
    async with ctx.db.read() as session:
        ed_pem = await ed25519_public_pem(session, account.id)
    assert account.public_key_id and account.public_key_pem and ed_pem
    farm.trust(account.public_key_id, account.uri, account.public_key_pem)
    farm.trust(f"{account.uri}#ed25519-key", account.uri, ed_pem)


@contextlib.asynccontextmanager
async def inbox_farm() -> AsyncIterator[InboxFarm]:
    """A real uvicorn server on a free loopback port; every path is an inbox."""
    port = free_port()
    farm = InboxFarm(base_url=f"http://127.0.0.1:{port}")

    async def receive(request: Request) -> Response:
        body = await request.body()
        signer = scheme = error = None
        try:
            verified = await verify_request("POST", str(request.url), request.headers, body, farm.lookup)
            signer, scheme = verified.owner, verified.scheme
        except ApubError as failure:
            error = f"{type(failure).__name__}: {failure}"
        farm.received.append(ReceivedDelivery(request.url.path, orjson.loads(body), signer, scheme, error))
        if signer is None or scheme == farm.refused_scheme:
            return Response(status_code=401)
        status, headers = farm.responses.get(request.url.path, (202, {}))
        return Response(status_code=status, headers=headers)

    app = Starlette(routes=[Route("/{path:path}", receive, methods=["POST"])])
    async with serve_app(app, port):
        yield farm
