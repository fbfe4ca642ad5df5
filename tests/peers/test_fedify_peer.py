"""The Fedify peer on its own: discovery, signature checks both ways, follows and notes.

A fake Python actor, `carol`, stands in for Plein: a Starlette app on 127.0.0.1 (uvicorn in a thread)
serving her actor document with a real RSA key, and recording what is delivered to her inbox.
The draft-cavage signer and verifier below are minimal on purpose; switch them to apub.httpsig once that
package is usable, so the peer also tests Plein's own signing code.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .fedify import FedifyPeer, fedify_peer_fixture  # noqa: F401  (provides the fixture "fedify_peer")

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
ACTIVITY_JSON = "application/activity+json"


# ---- draft-cavage HTTP Signatures (minimal; to be replaced by apub.httpsig) ------------------------


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def signed_post_headers(url: str, body: bytes, key_id: str, private_key: rsa.RSAPrivateKey) -> dict[str, str]:
    """Headers for a POST signed with rsa-sha256 over `(request-target) host date digest`."""
    parts = urlsplit(url)
    headers = {
        "host": parts.netloc,
        "date": email.utils.formatdate(usegmt=True),
        "digest": "SHA-256=" + _b64(hashlib.sha256(body).digest()),
        "content-type": ACTIVITY_JSON,
    }
    signing_string = "\n".join(
        [f"(request-target): post {parts.path}"]
        + [f"{name}: {headers[name]}" for name in ("host", "date", "digest")]
    )
    signature = private_key.sign(signing_string.encode(), padding.PKCS1v15(), hashes.SHA256())
    headers["signature"] = (
        f'keyId="{key_id}",algorithm="rsa-sha256",headers="(request-target) host date digest",'
        f'signature="{_b64(signature)}"'
    )
    return headers


def parse_signature_header(value: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in value.split('",'):
        name, _, quoted = item.partition("=")
        params[name.strip()] = quoted.strip().strip('"')
    return params


@dataclass
class Delivery:
    """One POST that reached the fake actor's inbox, kept as it came."""

    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def activity(self) -> dict[str, Any]:
        return json.loads(self.body)


def verify_delivery_signature(delivery: Delivery, public_key_pem: str) -> dict[str, str]:
    """Check a received draft-cavage signature and its Digest; return the signature's parameters."""
    params = parse_signature_header(delivery.headers["signature"])
    lines = []
    for name in params["headers"].split():
        if name == "(request-target)":
            lines.append(f"(request-target): post {delivery.path}")
        else:
            lines.append(f"{name}: {delivery.headers[name]}")
    public_key = serialization.load_pem_public_key(public_key_pem.encode())
    assert isinstance(public_key, rsa.RSAPublicKey)
    public_key.verify(  # raises InvalidSignature
        base64.b64decode(params["signature"]), "\n".join(lines).encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    assert "digest" in params["headers"].split()
    assert delivery.headers["digest"] == "SHA-256=" + _b64(hashlib.sha256(delivery.body).digest())
    return params


# ---- the fake actor --------------------------------------------------------------------------------


class FakeActor:
    """`carol` on a Starlette app served by uvicorn in a thread on a free port of 127.0.0.1."""

    def __init__(self) -> None:
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.deliveries: list[Delivery] = []
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self.actor_url = f"{self.base_url}/users/carol"
        self.key_id = f"{self.actor_url}#main-key"
        app = Starlette(
            routes=[
                Route("/users/carol", self._actor_document),
                Route("/users/carol/inbox", self._inbox, methods=["POST"]),
            ]
        )
        config = uvicorn.Config(app, lifespan="off", log_level="warning", ws="none")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fake actor's uvicorn server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    async def _actor_document(self, request: Request) -> Response:
        public_pem = self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        document = {
            "@context": [AS_CONTEXT, "https://w3id.org/security/v1"],
            "id": self.actor_url,
            "type": "Person",
            "preferredUsername": "carol",
            "inbox": f"{self.actor_url}/inbox",
            "outbox": f"{self.actor_url}/outbox",
            "followers": f"{self.actor_url}/followers",
            "publicKey": {"id": self.key_id, "owner": self.actor_url, "publicKeyPem": public_pem.decode()},
        }
        return JSONResponse(document, media_type=ACTIVITY_JSON)

    async def _inbox(self, request: Request) -> Response:
        body = await request.body()
        self.deliveries.append(Delivery(request.url.path, dict(request.headers), body))
        return Response(status_code=202)

    def new_id(self) -> str:
        return f"{self.actor_url}/activities/{uuid.uuid4()}"

    async def deliver(self, inbox_url: str, activity: dict[str, Any]) -> httpx.Response:
        """POST `activity` to `inbox_url`, signed with carol's key."""
        body = json.dumps(activity).encode()
        headers = signed_post_headers(inbox_url, body, self.key_id, self.private_key)
        async with httpx.AsyncClient() as client:
            return await client.post(inbox_url, content=body, headers=headers)


@pytest.fixture(scope="module")
def carol() -> Iterator[FakeActor]:
    actor = FakeActor()
    actor.start()
    yield actor
    actor.stop()


def create_note(carol: FakeActor, content: str) -> dict[str, Any]:
    note_id = carol.new_id()
    return {
        "@context": AS_CONTEXT,
        "id": f"{note_id}/activity",
        "type": "Create",
        "actor": carol.actor_url,
        "to": [f"{AS_CONTEXT}#Public"],
        "object": {
            "id": note_id,
            "type": "Note",
            "attributedTo": carol.actor_url,
            "content": content,
            "to": [f"{AS_CONTEXT}#Public"],
        },
    }


async def alice_public_key_pem(peer: FedifyPeer) -> str:
    async with httpx.AsyncClient() as client:
        response = await client.get(peer.actor_url, headers={"accept": ACTIVITY_JSON})
    return response.json()["publicKey"]["publicKeyPem"]


# ---- tests -----------------------------------------------------------------------------------------


async def test_webfinger_finds_alice(fedify_peer: FedifyPeer) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.get(
            f"{fedify_peer.base_url}/.well-known/webfinger", params={"resource": f"acct:{fedify_peer.handle}"}
        )
    assert response.status_code == 200
    jrd = response.json()
    assert jrd["subject"] == f"acct:{fedify_peer.handle}"
    self_links = [link for link in jrd["links"] if link["rel"] == "self"]
    assert self_links == [{"rel": "self", "href": fedify_peer.actor_url, "type": ACTIVITY_JSON}]


async def test_actor_document_has_rsa_public_key_and_assertion_methods(fedify_peer: FedifyPeer) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.get(fedify_peer.actor_url, headers={"accept": ACTIVITY_JSON})
    assert response.status_code == 200
    actor = response.json()
    assert actor["type"] == "Person"
    assert actor["inbox"] == fedify_peer.inbox_url
    assert actor["endpoints"]["sharedInbox"] == fedify_peer.shared_inbox_url
    assert actor["publicKey"]["owner"] == fedify_peer.actor_url
    public_key = serialization.load_pem_public_key(actor["publicKey"]["publicKeyPem"].encode())
    assert isinstance(public_key, rsa.RSAPublicKey)
    multikeys = {method["id"]: method for method in actor["assertionMethod"]}
    assert all(method["controller"] == fedify_peer.actor_url for method in multikeys.values())
    # Multibase "z6Mk" is the prefix of an Ed25519 public key; the other one is the RSA key.
    assert any(method["publicKeyMultibase"].startswith("z6Mk") for method in multikeys.values())
    assert actor["publicKey"]["id"] in multikeys


async def test_unsigned_create_is_rejected(fedify_peer: FedifyPeer, carol: FakeActor) -> None:
    activity = create_note(carol, "unsigned, must not arrive")
    async with httpx.AsyncClient() as client:
        response = await client.post(
            fedify_peer.inbox_url, content=json.dumps(activity), headers={"content-type": ACTIVITY_JSON}
        )
    assert response.status_code == 401
    assert activity["id"] not in [received["id"] for received in await fedify_peer.inbox()]


async def test_signed_create_with_tampered_body_is_rejected(
    fedify_peer: FedifyPeer, carol: FakeActor
) -> None:
    activity = create_note(carol, "the signed text")
    body = json.dumps(activity).encode()
    headers = signed_post_headers(fedify_peer.inbox_url, body, carol.key_id, carol.private_key)
    tampered = body.replace(b"the signed text", b"a forged text!!")
    async with httpx.AsyncClient() as client:
        response = await client.post(fedify_peer.inbox_url, content=tampered, headers=headers)
    assert response.status_code == 401
    assert activity["id"] not in [received["id"] for received in await fedify_peer.inbox()]


async def test_signed_create_is_accepted_and_recorded(fedify_peer: FedifyPeer, carol: FakeActor) -> None:
    activity = create_note(carol, "<p>hello from Python</p>")
    response = await carol.deliver(fedify_peer.inbox_url, activity)
    assert response.status_code == 202, response.text
    recorded = {received["id"]: received for received in await fedify_peer.inbox()}
    assert activity["id"] in recorded, fedify_peer.stderr()
    entry = recorded[activity["id"]]
    assert entry["type"] == "Create"
    assert entry["actor"] == carol.actor_url
    assert entry["object_id"] == activity["object"]["id"]
    assert entry["object_type"] == "Note"
    assert entry["content"] == "<p>hello from Python</p>"


async def test_alice_sends_a_signed_follow(fedify_peer: FedifyPeer, carol: FakeActor) -> None:
    carol.deliveries.clear()
    sent = await fedify_peer.follow(carol.actor_url)
    assert sent["object"] == carol.actor_url
    follows = [delivery for delivery in carol.deliveries if delivery.activity["type"] == "Follow"]
    assert len(follows) == 1
    follow = follows[0]
    assert follow.activity["id"] == sent["id"]
    assert follow.activity["actor"] == fedify_peer.actor_url
    assert follow.activity["object"] == carol.actor_url
    params = verify_delivery_signature(follow, await alice_public_key_pem(fedify_peer))
    assert params["keyId"] == f"{fedify_peer.actor_url}#main-key"
    assert follow.headers["host"] == urlsplit(carol.base_url).netloc


async def test_follow_is_accepted_then_notes_reach_the_follower(
    fedify_peer: FedifyPeer, carol: FakeActor
) -> None:
    carol.deliveries.clear()
    follow = {
        "@context": AS_CONTEXT,
        "id": carol.new_id(),
        "type": "Follow",
        "actor": carol.actor_url,
        "object": fedify_peer.actor_url,
    }
    response = await carol.deliver(fedify_peer.inbox_url, follow)
    assert response.status_code == 202, response.text
    assert carol.actor_url in await fedify_peer.followers()
    alice_key_pem = await alice_public_key_pem(fedify_peer)

    [accept] = [delivery for delivery in carol.deliveries if delivery.activity["type"] == "Accept"]
    verify_delivery_signature(accept, alice_key_pem)
    accepted = accept.activity["object"]
    assert (accepted["id"] if isinstance(accepted, dict) else accepted) == follow["id"]

    posted = await fedify_peer.post_note("<p>hi followers</p>", to="public")
    assert posted["delivered_to"] == [carol.actor_url]
    [create] = [delivery for delivery in carol.deliveries if delivery.activity["type"] == "Create"]
    verify_delivery_signature(create, alice_key_pem)
    assert create.activity["object"]["id"] == posted["id"]
    assert create.activity["object"]["content"] == "<p>hi followers</p>"
    # Fedify compacts the public collection to the CURIE "as:Public": Plein must read that spelling too.
    assert create.activity["to"] == "as:Public"
    assert create.activity["proof"]["cryptosuite"] == "eddsa-jcs-2022"

    async with httpx.AsyncClient() as client:
        dereferenced = await client.get(posted["id"], headers={"accept": ACTIVITY_JSON})
    assert dereferenced.status_code == 200
    assert dereferenced.json()["content"] == "<p>hi followers</p>"

    undo = {
        "@context": AS_CONTEXT,
        "id": carol.new_id(),
        "type": "Undo",
        "actor": carol.actor_url,
        "object": follow,
    }
    response = await carol.deliver(fedify_peer.inbox_url, undo)
    assert response.status_code == 202, response.text
    assert carol.actor_url not in await fedify_peer.followers()
    assert await fedify_peer.errors() == []
