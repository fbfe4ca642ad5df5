"""Moves between Plein and a real Fedify 2 server (tests/fedify2), both in authorized-fetch mode: a Plein
account moves to another and the Fedify follower of the old one, which handles `Move` as Mastodon does
(tests/fedify/peer.mjs), follows the new one; a Fedify account moves and Plein's local follower follows its
new account (inbox/handlers/accounts.handle_move)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from outbox.actions import follow
from outbox.actions.move import move_account, set_aliases
from peers.fedify import FedifyPeer, fedify2_peer_fixture  # noqa: F401  (provides "fedify2_peer")
from storage.accounts import account_by_uri
from storage.models import Follow
from support.federation import Instance, until
from support.instance import make_settings, serve_in_process
from webfinger.resolve import resolve_acct


@pytest.fixture
async def plein(tmp_path: Path) -> AsyncIterator[Instance]:
    settings = make_settings(tmp_path / "plein", **{"federation.authorized_fetch": True})
    async with serve_in_process(settings) as running:
        yield Instance(running)


async def _follows(plein: Instance, follower_id: int, target_id: int) -> bool:
    return (
        await plein.count(Follow, Follow.account_id == follower_id, Follow.target_account_id == target_id)
        == 1
    )


async def test_fedify_follower_follows_the_account_a_plein_account_moved_to(
    plein: Instance, fedify2_peer: FedifyPeer
) -> None:
    peer = fedify2_peer
    await peer.reset()
    old, new = await plein.local("ministry"), await plein.local("agency")
    await set_aliases(plein.ctx, new, [old.uri])
    await peer.follow(old.uri)
    alice = await resolve_acct(plein.ctx, peer.handle, scheme="http")
    await until(plein, lambda: _follows(plein, alice.id, old.id), what="alice follows the old account")

    await move_account(plein.ctx, old, new.uri)
    await until(plein, lambda: _follows(plein, alice.id, new.id), what="alice follows the new account")
    await until(
        plein, lambda: _gone(plein, alice.id, old.id), what="alice's Undo of her old follow is received"
    )
    assert await peer.following() == [new.uri]
    moves = [entry for entry in await peer.inbox() if entry["type"] == "Move"]
    assert [(m["actor"], m["object_id"], m["raw"]["target"]) for m in moves] == [(old.uri, old.uri, new.uri)]
    assert await peer.errors() == []


async def _gone(plein: Instance, follower_id: int, target_id: int) -> bool:
    return not await _follows(plein, follower_id, target_id)


async def test_plein_follower_follows_the_account_a_fedify_account_moved_to(
    plein: Instance, fedify2_peer: FedifyPeer
) -> None:
    peer = fedify2_peer
    await peer.reset()
    carol = await plein.local("carol")
    alice = await resolve_acct(plein.ctx, peer.handle, scheme="http")
    await follow(plein.ctx, carol, alice)
    await until(plein, lambda: _follows(plein, carol.id, alice.id), what="alice accepts carol")

    moved = await peer.move()
    assert moved["target"] == peer.new_actor_url

    async def follows_alicia() -> bool:
        async with plein.ctx.db.read() as session:
            alicia = await account_by_uri(session, peer.new_actor_url)
        return alicia is not None and await _follows(plein, carol.id, alicia.id)

    await until(plein, follows_alicia, what="carol follows alicia, accepted by Fedify")
    assert not await _follows(plein, carol.id, alice.id)
    assert await peer.new_account_followers() == [carol.uri]
    async with plein.ctx.db.read() as session:
        old = await account_by_uri(session, peer.actor_url)
        alicia = await account_by_uri(session, peer.new_actor_url)
    assert old is not None and alicia is not None and old.moved_to_account_id == alicia.id
    assert await peer.errors() == []
