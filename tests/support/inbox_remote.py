"""A fake remote fediverse server for inbox tests: a small Starlette app on a real 127.0.0.1 port in the
test's event loop, serving actor documents (with keys generated here) and objects, recording every request,
and signing deliveries to a Plein instance with `apub.httpsig` exactly as a real server would."""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from apub.httpsig import cavage, rfc9421
from apub.keys import load_private_key, private_key_to_pem, public_key_pem_from_private_pem
from support.instance import free_port, serve_app

AS2 = "application/activity+json"
_counter = itertools.count(1)


@dataclass
class RemoteActor:
    """One actor of the fake server, with its RSA key."""

    server: FakeRemote
    name: str
    private_key: rsa.RSAPrivateKey
    document: dict[str, Any]

    @property
    def uri(self) -> str:
        return self.document["id"]

    @property
    def key_id(self) -> str:
        return f"{self.uri}#main-key"

    def new_id(self, kind: str = "activities") -> str:
        return f"{self.server.base_url}/{kind}/{self.name}-{next(_counter)}"

    def note(self, content: str = "<p>hello</p>", **fields: Any) -> dict[str, Any]:
        note = {
            "id": self.new_id("notes"),
            "type": "Note",
            "attributedTo": self.uri,
            "content": content,
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "cc": [f"{self.uri}/followers"],
            "published": "2024-01-01T00:00:00Z",
        }
        note.update(fields)
        return note

    def activity(self, kind: str, activity_object: Any, **fields: Any) -> dict[str, Any]:
        activity = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": self.new_id(),
            "type": kind,
            "actor": self.uri,
            "object": activity_object,
        }
        activity.update(fields)
        return activity


@dataclass
class FakeRemote:
    """The server: documents by path, recorded requests, actors."""

    port: int = field(default_factory=free_port)
    # The host name in its URLs; a name other than 127.0.0.1 needs a resolver (`support.instance.loopback_names`).
    name: str = "127.0.0.1"
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, bytes]] = field(default_factory=list)
    actors: dict[str, RemoteActor] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://{self.name}:{self.port}"

    @property
    def host(self) -> str:
        return f"{self.name}:{self.port}"

    def serve(self, document: dict[str, Any], url: str | None = None) -> None:
        """Serve `document` at `url` (default: its id)."""
        path = (url or document["id"]).removeprefix(self.base_url)
        self.documents[path] = document

    def add_actor(self, name: str, private_pem: str, **fields: Any) -> RemoteActor:
        uri = f"{self.base_url}/users/{name}"
        document = {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": uri,
            "type": "Person",
            "preferredUsername": name,
            "name": name.title(),
            "inbox": f"{uri}/inbox",
            "outbox": f"{uri}/outbox",
            "followers": f"{uri}/followers",
            "following": f"{uri}/following",
            "endpoints": {"sharedInbox": f"{self.base_url}/inbox"},
            "publicKey": {
                "id": f"{uri}#main-key",
                "owner": uri,
                "publicKeyPem": public_key_pem_from_private_pem(private_pem),
            },
        }
        document.update(fields)
        key = load_private_key(private_pem)
        assert isinstance(key, rsa.RSAPrivateKey)
        actor = RemoteActor(self, name, key, document)
        self.actors[name] = actor
        self.serve(document)
        return actor

    def fetched(self, url: str) -> bool:
        """Whether anything GET `url` (path match)."""
        path = url.removeprefix(self.base_url)
        return any(method == "GET" and request_path == path for method, request_path, _ in self.requests)

    def posted_to(self, path: str) -> list[dict[str, Any]]:
        return [orjson.loads(body) for method, p, body in self.requests if method == "POST" and p == path]

    async def _handle(self, request: Request) -> Response:
        path = request.url.path
        self.requests.append((request.method, path, await request.body()))
        if request.method == "POST":
            return Response(status_code=202)
        document = self.documents.get(path)
        if document is None:
            return Response(status_code=404)
        return Response(orjson.dumps(document), media_type=AS2)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[FakeRemote]:
        app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["GET", "POST"])])
        async with serve_app(app, self.port):
            yield self


def new_rsa_pem() -> str:
    return private_key_to_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))


def signed_headers(
    url: str,
    body: bytes,
    *,
    key_id: str,
    private_key: rsa.RSAPrivateKey,
    scheme: str = "cavage",
    at: float | None = None,
    content_type: str = AS2,
) -> dict[str, str]:
    """Headers of a delivery of `body` to `url`, signed as a remote server would."""
    headers = {"Content-Type": content_type}
    if scheme == "rfc9421":
        created = int(at if at is not None else time.time())
        headers.update(
            rfc9421.sign_request(
                "POST", url, headers, body, key_id=key_id, private_key=private_key, created=created
            )
        )
    else:
        headers.update(
            cavage.sign_request("POST", url, headers, body, key_id=key_id, private_key=private_key, now=at)
        )
    return headers


async def deliver(
    client: httpx.AsyncClient,
    url: str,
    activity: dict[str, Any] | bytes,
    signer: RemoteActor,
    **options: Any,
) -> httpx.Response:
    """POST an activity to an inbox, signed by `signer`'s key."""
    body = activity if isinstance(activity, bytes) else orjson.dumps(activity)
    headers = signed_headers(url, body, key_id=signer.key_id, private_key=signer.private_key, **options)
    return await client.post(url, content=body, headers=headers)
