"""Domain policy beyond the sender (silence, reject-media), allow-list mode, and authorized fetch."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from apub.httpsig import cavage
from storage.domains import BlockTerms, allow_domain, block_domain
from storage.models import Account, MediaAttachment, Notification, Status
from support.inbox_remote import AS2
from support.inbox_world import InboxWorld, build_world


async def test_allowlist_mode_refuses_unlisted_hosts_and_accepts_listed_ones(tmp_path: Path) -> None:
    async for world in build_world(tmp_path, **{"federation.mode": "allowlist"}):
        follow = world.ann.activity("Follow", world.alice.uri)
        response = await world.deliver(follow, world.ann)
        assert response.status_code == 403
        assert world.remote.requests == []
        async with world.ctx.db.transaction() as session:
            await allow_domain(session, world.remote.host)
        response = await world.deliver(follow, world.ann)
        assert response.status_code == 202


async def test_reject_media_drops_attachments_and_silence_drops_strangers_notifications(
    world: InboxWorld,
) -> None:
    async with world.ctx.db.transaction() as session:
        await block_domain(session, world.remote.host, BlockTerms(severity="silence", reject_media=True))
    note = world.ann.note(
        "<p>hi @alice</p>",
        tag=[{"type": "Mention", "href": world.alice.uri}],
        to=[world.alice.uri],
        attachment=[{"type": "Image", "mediaType": "image/png", "url": f"{world.remote.base_url}/x.png"}],
    )
    assert (await world.deliver(world.ann.activity("Create", note), world.ann)).status_code == 202
    await world.drain()
    assert await world.scalar(select(Status.id).where(Status.uri == note["id"])) is not None
    assert await world.scalar(select(func.count()).select_from(MediaAttachment)) == 0
    assert await world.scalar(select(Account.silenced_at).where(Account.uri == world.ann.uri)) is not None
    assert await world.scalar(select(func.count()).select_from(Notification)) == 0


async def test_suspended_domain_of_a_boosted_object_is_not_fetched(world: InboxWorld) -> None:
    await world.follow_locally(world.alice, world.ann)
    original = world.eve.note()
    world.other.serve(original)
    async with world.ctx.db.transaction() as session:
        await block_domain(session, world.other.host)
    announce = world.ann.activity(
        "Announce", original["id"], to=["https://www.w3.org/ns/activitystreams#Public"]
    )
    assert (await world.deliver(announce, world.ann)).status_code == 202
    await world.drain()
    assert not world.other.fetched(original["id"])
    assert await world.scalar(select(func.count()).select_from(Status)) == 0


@pytest.fixture
async def locked_down(tmp_path: Path) -> AsyncIterator[InboxWorld]:
    async for world in build_world(tmp_path, **{"federation.authorized_fetch": True}):
        yield world


@pytest.mark.parametrize("path", ["/users/alice", "/users/alice/followers", "/users/alice/following"])
async def test_authorized_fetch_requires_a_signed_get(locked_down: InboxWorld, path: str) -> None:
    world = locked_down
    url = f"{world.instance.base_url}{path}"
    assert (await world.client.get(url, headers={"Accept": AS2})).status_code == 401
    headers = {"Accept": AS2}
    headers.update(
        cavage.sign_request(
            "GET", url, headers, None, key_id=world.ann.key_id, private_key=world.ann.private_key
        )
    )
    assert (await world.client.get(url, headers=headers)).status_code == 200
    async with world.ctx.db.transaction() as session:
        await block_domain(session, world.remote.host)
    assert (await world.client.get(url, headers=headers)).status_code == 403


async def test_without_authorized_fetch_unsigned_gets_are_served(world: InboxWorld) -> None:
    response = await world.client.get(f"{world.instance.base_url}/users/alice", headers={"Accept": AS2})
    assert response.status_code == 200
