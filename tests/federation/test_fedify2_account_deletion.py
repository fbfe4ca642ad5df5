"""A deleted Plein account disappears from a real Fedify 2 server (tests/fedify2): its actor's `Delete`, signed
with the key the account keeps for that, is verified by Fedify, which forgets the account (it no longer
follows the peer's actor). Both sides in authorized-fetch mode."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from outbox.actions import delete_local_account, follow
from peers.fedify import FedifyPeer, JsonObject, fedify2_peer_fixture  # noqa: F401  (provides "fedify2_peer")
from support.federation import Instance, until
from support.instance import make_settings, serve_in_process
from webfinger.resolve import resolve_actor


@pytest.fixture
async def plein(tmp_path: Path) -> AsyncIterator[Instance]:
    settings = make_settings(tmp_path / "plein", **{"federation.authorized_fetch": True})
    async with serve_in_process(settings) as running:
        yield Instance(running)


async def test_a_deleted_account_disappears_from_fedify2(plein: Instance, fedify2_peer: FedifyPeer) -> None:
    peer = fedify2_peer
    await peer.reset()
    erin = await plein.local("erin")
    await follow(plein.ctx, erin, await resolve_actor(plein.ctx, peer.actor_url))

    async def followed() -> bool:
        return erin.uri in await peer.followers()

    await until(plein, followed, what="Fedify 2 accepts erin's follow")
    assert await peer.knows(erin.uri) == {"follower": True, "deleted": False}

    deleted = await delete_local_account(plein.ctx, "erin", actor="cli:test")
    assert deleted.servers == 1

    async def forgotten() -> JsonObject | None:
        known = await peer.knows(erin.uri)
        return known if known["deleted"] else None

    known = await until(plein, forgotten, what="Fedify 2 verifies erin's Delete and forgets erin")
    assert known == {"follower": False, "deleted": True}
    [delete] = [item for item in await peer.inbox() if item["type"] == "Delete"]
    assert delete["actor"] == erin.uri and delete["object_id"] == erin.uri
    assert await peer.errors() == []
