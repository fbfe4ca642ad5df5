"""A farm of inbox servers on 127.0.0.1 standing in for many remote servers: every POST is signature-checked
against keys the test trusts, and recorded (inbox path, activity id). A gate can hold answers back, so a test
can freeze a fan-out in mid-flight."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from apub.errors import ApubError, KeyUnavailable
from apub.httpsig import PublicKeyRecord, verify_request
from apub.keys import load_public_key
from storage.accounts import ed25519_public_pem, local_account_by_username
from storage.context import Context
from storage.models import Account, Follow
from support.instance import free_port


@dataclass
class Farm:
    ports: list[int]
    keys: dict[str, PublicKeyRecord] = field(default_factory=dict)
    received: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # inbox → activity ids
    refused: list[str] = field(default_factory=list)
    answer_first: int | None = None  # answer this many at once, then hold the rest until `gate` opens
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    answered: int = 0

    def inbox(self, index: int) -> str:
        port = self.ports[index % len(self.ports)]
        return f"http://127.0.0.1:{port}/users/f{index}/inbox"

    def shared_inbox(self, index: int) -> str:
        """The shared inbox of the host `inbox(index)` is on."""
        return f"http://127.0.0.1:{self.ports[index % len(self.ports)]}/inbox"

    def trust(self, key_id: str, owner: str, public_pem: str) -> None:
        self.keys[key_id] = PublicKeyRecord(
            key_id=key_id, owner=owner, public_key=load_public_key(public_pem)
        )

    async def lookup(self, key_id: str, *, refresh: bool = False) -> PublicKeyRecord:
        try:
            return self.keys[key_id]
        except KeyError:
            raise KeyUnavailable(key_id) from None

    def deliveries(self) -> int:
        return sum(len(ids) for ids in self.received.values())

    async def _receive(self, request: Request) -> Response:
        body = await request.body()
        try:
            await verify_request("POST", str(request.url), request.headers, body, self.lookup)
        except ApubError as error:
            self.refused.append(f"{request.url}: {error}")
            return Response(status_code=401)
        self.received[str(request.url)].append(orjson.loads(body)["id"])
        if self.answer_first is not None and self.answered >= self.answer_first:
            await self.gate.wait()
        self.answered += 1
        return Response(status_code=202)


@contextlib.asynccontextmanager
async def inbox_farm(servers: int) -> AsyncIterator[Farm]:
    """`servers` uvicorn servers (distinct ports, so distinct remote hosts) sharing one recorder."""
    farm = Farm(ports=[free_port() for _ in range(servers)])
    app = Starlette(
        routes=[
            Route("/users/{name}/inbox", farm._receive, methods=["POST"]),
            Route("/inbox", farm._receive, methods=["POST"]),
        ]
    )
    running = []
    for port in farm.ports:
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off")
        server = uvicorn.Server(config)
        running.append((server, asyncio.create_task(server.serve())))
    for server, _ in running:
        while not server.started:
            await asyncio.sleep(0.01)
    try:
        yield farm
    finally:
        farm.gate.set()
        for server, _ in running:
            server.should_exit = True
        for _, task in running:
            await task


async def follow_from_farm(ctx: Context, farm: Farm, username: str, followers: int) -> None:
    """Make local `username` followed by `followers` accounts of the farm (`f0`, `f1`, … spread over its
    hosts, each with its own inbox), and let the farm trust the account's keys."""
    async with ctx.db.transaction() as session:
        account = await local_account_by_username(session, username)
        assert account is not None and account.public_key_pem
        farm.trust(account.public_key_id or "", account.uri, account.public_key_pem)
        farm.trust(
            f"{account.uri}#ed25519-key", account.uri, await ed25519_public_pem(session, account.id) or ""
        )
        for index in range(followers):
            inbox = farm.inbox(index)
            remote = Account(
                username=f"f{index}",
                domain=inbox.split("/")[2],
                uri=inbox.removesuffix("/inbox"),
                inbox_url=inbox,
            )
            session.add(remote)
            await session.flush()
            session.add(Follow(account_id=remote.id, target_account_id=account.id))
