"""A small ActivityPub peer for double-knock tests: a Starlette app on a real 127.0.0.1 port (uvicorn, in the
test's event loop) with one actor, `bovine`, whose inbox and actor document verify HTTP signatures for real
(`apub.httpsig.verify_request`, keys fetched from the signer's server), except that each scheme can be
given a fixed answer instead — `answers={"rfc9421": 500}` is bovine-herd, which answers 500 to RFC 9421.

Every request is logged with the scheme it was signed with and the status it got, so tests count knocks.
It signs its own deliveries (draft-cavage, RSA) like any server.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from apub.errors import SignatureError
from apub.httpsig import KeyResolver, cavage, verify_request
from apub.keys import load_private_key, public_key_pem_from_private_pem
from support.inbox_remote import AS2, new_rsa_pem
from support.instance import free_port


@dataclass
class Knocked:
    """One request the peer received: method, path, the signature scheme it carried, the status answered."""

    method: str
    path: str
    scheme: str | None
    status: int


@dataclass
class KnockPeer:
    """The peer. `answers` maps a scheme to the status answered without looking at the signature; a scheme
    not in it is verified (401 when it does not verify). `public_paths` are served to anyone (200)."""

    answers: dict[str, int] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    private_pem: str = field(default_factory=new_rsa_pem)
    knocks: list[Knocked] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    public_paths: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def actor_url(self) -> str:
        return f"{self.base_url}/users/bovine"

    @property
    def key_id(self) -> str:
        return f"{self.actor_url}#main-key"

    def actor(self) -> dict[str, Any]:
        return {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": self.actor_url,
            "type": "Person",
            "preferredUsername": "bovine",
            "inbox": f"{self.actor_url}/inbox",
            "outbox": f"{self.actor_url}/outbox",
            "followers": f"{self.actor_url}/followers",
            "publicKey": {
                "id": self.key_id,
                "owner": self.actor_url,
                "publicKeyPem": public_key_pem_from_private_pem(self.private_pem),
            },
        }

    def schemes(self, method: str | None = None, path: str | None = None) -> list[str | None]:
        """The schemes of the logged requests (optionally of one method and path), in order."""
        return [
            knock.scheme
            for knock in self.knocks
            if (method is None or knock.method == method) and (path is None or knock.path == path)
        ]

    async def _fetch_key_owner(self, url: str) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(url, headers={"Accept": AS2})
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    async def _signed_by_someone(self, request: Request, body: bytes) -> int:
        scheme = "rfc9421" if "signature-input" in request.headers else "cavage"
        if scheme in self.answers:
            return self.answers[scheme]
        try:
            await verify_request(request.method, str(request.url), request.headers, body, self._keys)
        except SignatureError:
            return 401
        return 0

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        path = request.url.path
        headers = request.headers
        scheme = "rfc9421" if "signature-input" in headers else "cavage" if "signature" in headers else None
        if request.method == "GET" and path in self.public_paths:
            self.knocks.append(Knocked("GET", path, scheme, 200))
            return Response(orjson.dumps(self.public_paths[path]), media_type=AS2)
        refusal = await self._signed_by_someone(request, body)
        status = refusal or (202 if request.method == "POST" else 200)
        self.knocks.append(Knocked(request.method, path, scheme, status))
        if refusal:
            return JSONResponse({"error": "signature refused"}, status_code=refusal)
        if request.method == "POST":
            self.received.append(orjson.loads(body))
            return Response(status_code=202)
        if path == "/users/bovine":
            return Response(orjson.dumps(self.actor()), media_type=AS2)
        return JSONResponse({"error": "not found"}, status_code=404)

    async def deliver(self, inbox_url: str, activity: dict[str, Any]) -> httpx.Response:
        """POST `activity` to `inbox_url` signed by bovine (draft-cavage, RSA)."""
        body = orjson.dumps(activity)
        key = load_private_key(self.private_pem)
        assert isinstance(key, rsa.RSAPrivateKey)
        headers = {"Content-Type": AS2}
        headers.update(
            cavage.sign_request("POST", inbox_url, headers, body, key_id=self.key_id, private_key=key)
        )
        async with httpx.AsyncClient(timeout=30) as client:
            return await client.post(inbox_url, content=body, headers=headers)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[KnockPeer]:
        self._keys = KeyResolver(self._fetch_key_owner)
        routes = [Route("/{path:path}", self._handle, methods=["GET", "POST"])]
        server = uvicorn.Server(
            uvicorn.Config(Starlette(routes=routes), host="127.0.0.1", port=self.port, log_level="warning")
        )
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        try:
            yield self
        finally:
            server.should_exit = True
            await task
