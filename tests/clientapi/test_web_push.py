"""Web Push: apps subscribe (Mastodon.py and plain HTTP), a notification becomes an encrypted push sent
to a local push service that checks the VAPID signature and decrypts it — the draft `aesgcm` scheme through
Mastodon.py's own decryption, RFC 8291 `aes128gcm` through http_ece — alerts and policy choose what is
pushed, and a push service answering 410 ends the subscription."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import http_ece
import orjson
import pytest
from checked import call
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from mastodon import Mastodon
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from plein.jobs import job_handlers
from storage.models import Job, PushSubscription
from storage.push_keys import b64url, b64url_decode, new_vapid_private_key, vapid_public_key
from storage.worker import drain
from support.databases import sqlite_url
from support.filters import create_filter
from support.instance import RunningInstance, free_port, make_settings, serve_app, serve_in_process
from support.oauth import bearer, make_token
from support.openapi import validate_entity


@dataclass
class PushService:
    """A push service on loopback: keeps what it is sent; `/gone/…` answers 410 as for an expired one."""

    base_url: str
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)

    async def receive(self, request: Request) -> Response:
        self.received.append((request.url.path, dict(request.headers), await request.body()))
        return Response(status_code=410 if request.url.path.startswith("/gone/") else 201)


@dataclass
class World:
    instance: RunningInstance
    push: PushService
    server_key: str

    async def drain(self) -> None:
        assert self.instance.ctx is not None
        await drain(self.instance.ctx.db, job_handlers(self.instance.ctx))


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    port = free_port()
    push = PushService(f"http://127.0.0.1:{port}")
    private_key = new_vapid_private_key()
    settings = make_settings(
        tmp_path,
        database_url=sqlite_url(str(tmp_path)),
        **{"secrets.vapid_private_key": private_key, "instance.contact_email": "admin@plein.example"},
    )
    app = Starlette(routes=[Route("/{path:path}", push.receive, methods=["POST"])])
    async with serve_app(app, port), serve_in_process(settings) as running:
        yield World(running, push, vapid_public_key(private_key))


def _receiver_keys() -> tuple[ec.EllipticCurvePrivateKey, str, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    secret = b"sixteen byte key"
    return key, b64url(public), secret


def _check_vapid_jwt(jwt: str, server_key: str, audience: str) -> dict[str, Any]:
    """The JWT's claims, after checking its ES256 signature with the server's public key."""
    header, claims, signature = jwt.split(".")
    raw = b64url_decode(signature)
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(server_key))
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public.verify(der, f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))  # InvalidSignature if not
    decoded = orjson.loads(b64url_decode(claims))
    assert decoded["aud"] == audience and decoded["sub"] == "mailto:admin@plein.example"
    return decoded


async def _mention(world: World, token: str, text: str) -> None:
    async with world.instance.client() as http:
        await call(http, "POST", "/api/v1/statuses", headers=bearer(token), json={"status": text})
    await world.drain()


async def test_mastodon_py_subscribes_and_decrypts_a_mention(world: World) -> None:
    ctx = world.instance.ctx
    assert ctx is not None
    alice_token = await make_token(ctx, "alice")
    bob_token = await make_token(ctx, "bob")
    alice = Mastodon(api_base_url=world.instance.base_url, access_token=alice_token)
    private, public = await asyncio.to_thread(alice.push_subscription_generate_keys)
    subscription = await asyncio.to_thread(
        alice.push_subscription_set,
        f"{world.push.base_url}/alice",
        public,
        mention_events=True,
        follow_events=True,
    )
    assert subscription.server_key == world.server_key
    assert subscription.alerts.mention is True and subscription.alerts.favourite is False
    async with world.instance.client() as http:
        shown = await call(http, "GET", "/api/v1/push/subscription", headers=bearer(alice_token))
        instance = await call(http, "GET", "/api/v2/instance")
    validate_entity("WebPushSubscription", shown)
    assert instance["configuration"]["vapid"]["public_key"] == world.server_key

    await _mention(world, bob_token, "@alice the minutes of today's meeting are up")
    assert len(world.push.received) == 1
    path, headers, body = world.push.received[0]
    assert path == "/alice" and headers["content-encoding"] == "aesgcm" and int(headers["ttl"]) > 0
    scheme, _, jwt = headers["authorization"].partition(" ")
    assert scheme == "WebPush"
    _check_vapid_jwt(jwt, world.server_key, world.push.base_url)
    assert f"p256ecdsa={world.server_key}" in headers["crypto-key"]
    pushed = await asyncio.to_thread(
        alice.push_subscription_decrypt_push, body, private, headers["encryption"], headers["crypto-key"]
    )
    assert pushed.notification_type == "mention"
    assert pushed.access_token == alice_token  # apps find the account by it
    assert pushed.title == "You were mentioned by bob"
    assert "minutes of today" in pushed.body
    notifications = await asyncio.to_thread(alice.notifications)
    assert str(notifications[0].id) == str(pushed.notification_id)

    # Favourites are not among the alerts chosen: nothing is pushed for them.
    async with world.instance.client() as http:
        mine = await call(
            http, "POST", "/api/v1/statuses", headers=bearer(alice_token), json={"status": "hi"}
        )
        await call(http, "POST", f"/api/v1/statuses/{mine['id']}/favourite", headers=bearer(bob_token))
    await world.drain()
    assert len(world.push.received) == 1

    await asyncio.to_thread(alice.push_subscription_delete)
    async with world.instance.client() as http:
        gone = await http.get("/api/v1/push/subscription", headers=bearer(alice_token))
    assert gone.status_code == 404 and gone.json() == {"error": "Record not found"}


async def test_standard_push_policy_and_expired_subscriptions(world: World) -> None:
    ctx = world.instance.ctx
    assert ctx is not None
    carol_token = await make_token(ctx, "carol")
    dave_token = await make_token(ctx, "dave")
    key, public, secret = _receiver_keys()
    subscribe = {
        "subscription": {
            "endpoint": f"{world.push.base_url}/carol",
            "keys": {"p256dh": public, "auth": b64url(secret)},
            "standard": True,
        },
        "data": {"alerts": {"mention": True}, "policy": "followed"},
    }
    async with world.instance.client() as http:
        created = await call(
            http, "POST", "/api/v1/push/subscription", headers=bearer(carol_token), json=subscribe
        )
    assert created["standard"] is True and created["policy"] == "followed"

    await _mention(world, dave_token, "@carol from someone you do not follow")
    assert world.push.received == []  # the policy keeps strangers out

    async with world.instance.client() as http:
        updated = await call(
            http,
            "PUT",
            "/api/v1/push/subscription",
            headers=bearer(carol_token),
            json={"data": {"policy": "all"}},
        )
    assert updated["policy"] == "all" and updated["alerts"]["mention"] is True
    await _mention(world, dave_token, "@carol standard push")
    [(_, headers, body)] = world.push.received
    assert headers["content-encoding"] == "aes128gcm"
    scheme, _, credentials = headers["authorization"].partition(" ")
    parts = dict(part.strip().split("=", 1) for part in credentials.split(","))
    assert scheme == "vapid" and parts["k"] == world.server_key
    _check_vapid_jwt(parts["t"], world.server_key, world.push.base_url)
    payload = orjson.loads(http_ece.decrypt(body, private_key=key, auth_secret=secret, version="aes128gcm"))
    assert payload["notification_type"] == "mention" and payload["access_token"] == carol_token
    assert payload["body"] == "@carol standard push"

    # A push service that no longer knows the subscription (410) ends it.
    subscribe["subscription"]["endpoint"] = f"{world.push.base_url}/gone/carol"
    subscribe["data"] = {"alerts": {"mention": True}}  # a new subscription: policy back to `all`
    async with world.instance.client() as http:
        await call(http, "POST", "/api/v1/push/subscription", headers=bearer(carol_token), json=subscribe)
    await _mention(world, dave_token, "@carol into the void")
    async with ctx.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(PushSubscription)) == 0
        assert (
            await session.scalar(
                select(func.count()).select_from(Job).where(Job.queue == "push", Job.state != "done")
            )
            == 0
        )
    assert world.push.received[-1][0] == "/gone/carol"


async def test_refused_subscriptions_change_nothing(world: World) -> None:
    ctx = world.instance.ctx
    assert ctx is not None
    token = await make_token(ctx, "erin")
    no_push = await make_token(ctx, "frank", scopes="read write")
    _, public, secret = _receiver_keys()
    good = {"endpoint": f"{world.push.base_url}/erin", "keys": {"p256dh": public, "auth": b64url(secret)}}
    refused = [
        ({"subscription": {**good, "endpoint": "ftp://push.example/x"}}, 422),
        ({"subscription": {**good, "keys": {"p256dh": "bm90IGEga2V5", "auth": b64url(secret)}}}, 422),
        ({"subscription": {**good, "keys": {"p256dh": public, "auth": b64url(b"short")}}}, 422),
        ({"subscription": {"endpoint": good["endpoint"]}}, 422),
        ({"subscription": good, "data": {"policy": "everyone"}}, 422),
    ]
    async with world.instance.client() as http:
        for body, status in refused:
            answer = await http.post("/api/v1/push/subscription", headers=bearer(token), json=body)
            assert answer.status_code == status, (body, answer.text)
            assert "error" in answer.json()
        forbidden = await http.post(
            "/api/v1/push/subscription", headers=bearer(no_push), json={"subscription": good}
        )
        assert forbidden.status_code == 403
        missing = await http.put("/api/v1/push/subscription", headers=bearer(token), json={"data": {}})
        assert missing.status_code == 404
        assert (await http.delete("/api/v1/push/subscription", headers=bearer(token))).json() == {}
    async with ctx.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(PushSubscription)) == 0


def test_b64url_round_trip() -> None:
    assert b64url_decode(b64url(b"\xff\x00")) == b"\xff\x00"
    assert base64.urlsafe_b64encode(b"\xff").decode().rstrip("=") == b64url(b"\xff")


async def test_notifications_a_hide_filter_keeps_out_are_not_pushed(world: World) -> None:
    ctx = world.instance.ctx
    assert ctx is not None
    gina_token = await make_token(ctx, "gina")
    hank_token = await make_token(ctx, "hank")
    _, public, secret = _receiver_keys()
    subscribe = {
        "subscription": {
            "endpoint": f"{world.push.base_url}/gina",
            "keys": {"p256dh": public, "auth": b64url(secret)},
        },
        "data": {"alerts": {"mention": True}},
    }
    async with world.instance.client(headers=bearer(gina_token)) as http:
        await call(http, "POST", "/api/v1/push/subscription", json=subscribe)
        await create_filter(http, ["notifications"], "hide", "classified")
        await create_filter(http, ["home"], "hide", "weather")  # not a notifications filter
        await create_filter(http, ["notifications"], "warn", "lunch")  # warns, hides nothing
    await _mention(world, hank_token, "@gina the classified report")
    assert world.push.received == []
    await _mention(world, hank_token, "@gina the weather report")
    await _mention(world, hank_token, "@gina lunch?")
    assert [path for path, _, _ in world.push.received] == ["/gina", "/gina"]
