"""Plein against a real Fedify server: follows both ways, Create(Note) both ways, signatures checked by
each side, and Fedify's own refusal of an unsigned delivery."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from outbox.actions import follow, post_status
from peers.fedify import FedifyPeer, fedify_peer_fixture  # noqa: F401  (provides the fixture "fedify_peer")
from storage.models import Follow, HomeFeedEntry, Status
from support.federation import Instance, until
from support.instance import make_settings, serve_in_process
from webfinger.resolve import resolve_acct


@pytest.fixture
async def plein(tmp_path: Path) -> AsyncIterator[Instance]:
    async with serve_in_process(make_settings(tmp_path / "plein")) as running:
        yield Instance(running)


async def test_plein_follows_fedify_and_receives_its_note(plein: Instance, fedify_peer: FedifyPeer):
    await fedify_peer.reset()
    bob = await plein.local("bob")
    alice = await resolve_acct(plein.ctx, fedify_peer.handle, scheme="http")
    assert alice.uri == fedify_peer.actor_url

    await follow(plein.ctx, bob, alice)

    async def accepted() -> bool:
        return (
            await plein.count(Follow, Follow.account_id == bob.id, Follow.target_account_id == alice.id) == 1
        )

    await until(plein, accepted, what="Fedify accepts bob's Follow")
    assert bob.uri in await fedify_peer.followers()

    note = await fedify_peer.post_note("Hello from Fedify", to="followers")

    async def landed() -> bool:
        async with plein.ctx.db.read() as session:
            status = (
                await session.execute(select(Status).where(Status.uri == note["id"]))
            ).scalar_one_or_none()
            if status is None:
                return False
            feed = select(HomeFeedEntry).where(
                HomeFeedEntry.account_id == bob.id, HomeFeedEntry.status_id == status.id
            )
            return (await session.execute(feed)).first() is not None

    await until(plein, landed, what="Fedify's note reaches bob's home timeline")
    assert await fedify_peer.errors() == []


async def test_fedify_follows_plein_and_receives_its_note(plein: Instance, fedify_peer: FedifyPeer):
    await fedify_peer.reset()
    carol = await plein.local("carol")
    await fedify_peer.follow(carol.uri)

    async def followed() -> bool:
        fedify_actor = await plein.account(fedify_peer.actor_url)
        return (
            fedify_actor is not None
            and await plein.count(
                Follow, Follow.account_id == fedify_actor.id, Follow.target_account_id == carol.id
            )
            == 1
        )

    await until(plein, followed, what="Plein stores Fedify's follow")

    async def accept_arrived() -> dict[str, Any] | None:
        return next((item for item in await fedify_peer.inbox() if item["type"] == "Accept"), None)

    await until(plein, accept_arrived, what="Fedify verifies and takes Plein's Accept")

    status = await post_status(plein.ctx, carol, text="Hello Fedify, from Plein")

    async def note_arrived() -> dict[str, Any] | None:
        return next(
            (
                item
                for item in await fedify_peer.inbox()
                if item["type"] == "Create" and item["object_id"] == status.uri
            ),
            None,
        )

    create = await until(plein, note_arrived, what="Fedify verifies and takes Plein's Create(Note)")
    assert "Hello Fedify" in create["content"]
    assert await fedify_peer.errors() == []


async def test_fedify_refuses_an_unsigned_delivery(plein: Instance, fedify_peer: FedifyPeer):
    await fedify_peer.reset()
    dave = await plein.local("dave")
    activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{dave.uri}#unsigned-create",
        "type": "Create",
        "actor": dave.uri,
        "object": {"id": f"{dave.uri}/statuses/1", "type": "Note", "attributedTo": dave.uri, "content": "x"},
    }
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(
            fedify_peer.inbox_url,
            content=json.dumps(activity),
            headers={"Content-Type": "application/activity+json"},
        )
    assert response.status_code == 401
    assert not [item for item in await fedify_peer.inbox() if item["id"] == activity["id"]]
