"""Resolving remote actors and statuses (fetch → verify origin → upsert), and the converters' readings."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage.domains import block_domain
from storage.models import Account, RemoteKey, Status
from support.inbox_world import build_world
from webfinger.convert import note_to_status, visibility_of
from webfinger.resolve import ResolveError, resolve_actor, resolve_status

FOLLOWERS = "https://remote.example/users/ann/followers"


@pytest.mark.parametrize("public", ["https://www.w3.org/ns/activitystreams#Public", "as:Public", "Public"])
def test_every_spelling_of_public(public: str) -> None:
    assert visibility_of([public], [], FOLLOWERS) == "public"
    assert visibility_of([FOLLOWERS], [public], FOLLOWERS) == "unlisted"


def test_addressing_as_strings_or_lists() -> None:
    base = {
        "id": "https://remote.example/notes/1",
        "type": "Note",
        "attributedTo": "https://remote.example/users/ann",
    }
    assert note_to_status({**base, "to": FOLLOWERS}, followers_url=FOLLOWERS).visibility == "private"
    assert (
        note_to_status({**base, "to": ["https://x.example/users/bo"]}, followers_url=FOLLOWERS).visibility
        == "direct"
    )
    assert note_to_status({**base, "cc": "as:Public"}, followers_url=FOLLOWERS).visibility == "unlisted"


async def test_resolve_actor_fetches_once_and_stores(tmp_path: Path) -> None:
    async for world in build_world(tmp_path):
        account = await resolve_actor(world.ctx, world.ann.uri)
        assert account.username == "ann" and account.domain == world.remote.host
        assert account.inbox_url == f"{world.ann.uri}/inbox"
        again = await resolve_actor(world.ctx, world.ann.uri)
        assert again.id == account.id
        assert sum(1 for method, path, _ in world.remote.requests if path == "/users/ann") == 1


async def test_key_lookup_persists_keys(tmp_path: Path) -> None:
    async for world in build_world(tmp_path):
        record = await world.ctx.key_lookup(world.ann.key_id)
        assert record.owner == world.ann.uri
        assert await world.scalar(select(RemoteKey.owner_uri)) == world.ann.uri
        assert await world.ctx.key_lookup.known(world.ann.key_id)


async def test_actor_served_with_a_foreign_id_is_refused(tmp_path: Path) -> None:
    async for world in build_world(tmp_path):
        world.remote.serve(dict(world.eve.document), f"{world.remote.base_url}/users/impostor")
        with pytest.raises(ResolveError):
            await resolve_actor(world.ctx, f"{world.remote.base_url}/users/impostor")
        assert (
            await world.scalar(select(func.count()).select_from(Account).where(Account.domain.is_not(None)))
            == 0
        )


async def test_suspended_domain_is_not_fetched(tmp_path: Path) -> None:
    async for world in build_world(tmp_path):
        async with world.ctx.db.transaction() as session:
            await block_domain(session, world.remote.host)
        with pytest.raises(ResolveError):
            await resolve_actor(world.ctx, world.ann.uri)
        assert world.remote.requests == []


async def test_status_on_another_origin_than_its_author_is_refused(tmp_path: Path) -> None:
    async for world in build_world(tmp_path):
        forged = world.ann.note(attributedTo=world.eve.uri)
        world.remote.serve(forged)
        with pytest.raises(ResolveError):
            await resolve_status(world.ctx, forged["id"])
        genuine = world.ann.note("<p>ok</p>")
        world.remote.serve(genuine)
        status = await resolve_status(world.ctx, genuine["id"])
        assert status.content == "<p>ok</p>"
        assert await world.scalar(select(func.count()).select_from(Status)) == 1


async def test_a_burst_of_first_fetches_builds_the_instance_signer_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from webfinger import fetch

    loaded: list[bool] = []
    real_load = fetch.load_private_key

    def counting_load(pem: str, *, ours: bool = False) -> object:
        loaded.append(ours)
        return real_load(pem, ours=ours)

    monkeypatch.setattr(fetch, "load_private_key", counting_load)
    async for world in build_world(tmp_path):
        signers = await asyncio.gather(*(fetch.instance_actor_auth(world.ctx) for _ in range(20)))
        assert all(signer is signers[0] for signer in signers)
        assert loaded == [True, True]  # one RSA and one Ed25519 key, our own: loaded without validation
        assert await fetch.instance_actor_auth(world.ctx) is signers[0]
        assert loaded == [True, True]
