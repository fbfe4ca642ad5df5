"""A small ActivityPub peer for double-knock tests: the fake remote of `inbox_remote` with one actor, `bovine`,
whose inbox and documents verify HTTP signatures for real (`apub.httpsig.verify_request`, keys fetched from
the signer's server), except that each scheme can be given a fixed answer instead —
`answers={"rfc9421": 500}` is bovine-herd, which answers 500 to RFC 9421. Paths in `public_paths` are
served to anyone, as public objects are.

Every request is logged with the scheme it was signed with and the status it got, so tests count knocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from apub.errors import SignatureError
from apub.httpsig import KeyResolver, verify_request
from support.inbox_remote import AS2, FakeRemote, deliver, new_rsa_pem


@dataclass
class Knocked:
    """One request the peer received: method, path, the signature scheme it carried, the status answered."""

    method: str
    path: str
    scheme: str | None
    status: int


async def _fetch_public_json(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(url, headers={"Accept": AS2})
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


@dataclass
class KnockPeer(FakeRemote):
    """The peer. `answers` maps a scheme to the status answered without looking at the signature; a scheme
    not in it is verified (401 when it does not verify)."""

    answers: dict[str, int] = field(default_factory=dict)
    knocks: list[Knocked] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    public_paths: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.bovine = self.add_actor("bovine", new_rsa_pem())
        self._keys = KeyResolver(_fetch_public_json)

    @property
    def actor_url(self) -> str:
        return self.bovine.uri

    def schemes(self, method: str | None = None, path: str | None = None) -> list[str | None]:
        """The schemes of the logged requests (optionally of one method and path), in order."""
        return [
            knock.scheme
            for knock in self.knocks
            if (method is None or knock.method == method) and (path is None or knock.path == path)
        ]

    async def _refusal(self, request: Request, scheme: str | None, body: bytes) -> int:
        """The status refusing the request's signature, or 0 when it verifies."""
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
        refusal = 0 if request.method == "GET" and path in self.public_paths else None
        if refusal is None:
            refusal = await self._refusal(request, scheme, body)
        document = self.documents.get(path)
        status = refusal or (202 if request.method == "POST" else 200 if document else 404)
        self.knocks.append(Knocked(request.method, path, scheme, status))
        if refusal:
            return JSONResponse({"error": "signature refused"}, status_code=refusal)
        if request.method == "POST":
            self.received.append(orjson.loads(body))
            return Response(status_code=202)
        if document is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        return Response(orjson.dumps(document), media_type=AS2)

    async def deliver(self, inbox_url: str, activity: dict[str, Any]) -> httpx.Response:
        """POST `activity` to `inbox_url` signed by bovine (draft-cavage, RSA)."""
        async with httpx.AsyncClient(timeout=30) as client:
            return await deliver(client, inbox_url, activity, self.bovine)
