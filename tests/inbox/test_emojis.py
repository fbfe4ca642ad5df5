"""Remote custom emojis: `Emoji` tags on received Notes and actors are stored per (shortcode, host) and
shown in `emojis` of the Status and Account entities; the same shortcode on two hosts is two emojis; bad
tags are skipped; reject-media hosts' emojis are not shown. Images are linked, never fetched."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

import moderation
from storage.domains import BlockTerms, block_domain
from storage.models import Account, CustomEmoji, Status
from support.inbox_remote import RemoteActor
from support.inbox_world import InboxWorld
from support.oauth import bearer, make_token
from support.openapi import validate_response


def emoji_tag(actor: RemoteActor, shortcode: str, image: str, updated: str = "2024-01-01T00:00:00Z") -> dict:
    return {
        "id": f"{actor.server.base_url}/emojis/{shortcode}",
        "type": "Emoji",
        "name": f":{shortcode}:",
        "updated": updated,
        "icon": {"type": "Image", "mediaType": "image/png", "url": f"{actor.server.base_url}/{image}"},
    }


async def call(http: httpx.AsyncClient, method: str, path: str) -> Any:
    """A client API answer, checked against the OpenAPI description."""
    response = await http.request(method, path)
    assert response.status_code == 200, response.text
    validate_response(path, method, 200, response.json())
    return response.json()


async def _received(world: InboxWorld, actor: RemoteActor, note: dict[str, Any]) -> int:
    response = await world.deliver(actor.activity("Create", note), actor)
    assert response.status_code == 202, response.text
    await world.drain()
    status_id = await world.scalar(select(Status.id).where(Status.uri == note["id"]))
    assert status_id is not None
    return int(status_id)


async def test_received_emojis_show_in_statuses_and_accounts(any_world: InboxWorld) -> None:
    world = any_world
    world.ann.document["name"] = "Ann :ann_face:"
    world.ann.document["tag"] = [emoji_tag(world.ann, "ann_face", "face.png")]
    for actor in (world.ann, world.eve):
        await world.follow_locally(world.alice, actor)  # else an unsolicited post is dropped
    ann_note = world.ann.note(
        "<p>tea :blob: :ghost: time</p>",
        summary="about :blob:",
        tag=[
            emoji_tag(world.ann, "blob", "blob.png"),
            {"type": "Emoji", "name": ":bad-name:", "icon": {"url": f"{world.remote.base_url}/x.png"}},
            {"type": "Emoji", "name": ":script:", "icon": {"url": "javascript:alert(1)"}},
            {"type": "Emoji", "name": ":noicon:"},
        ],
    )
    eve_note = world.eve.note("<p>mine :blob:</p>", tag=[emoji_tag(world.eve, "blob", "other-blob.png")])
    ann_status = await _received(world, world.ann, ann_note)
    eve_status = await _received(world, world.eve, eve_note)

    token = await make_token(world.ctx, "alice")
    async with world.instance.client(headers=bearer(token)) as http:
        entity = await call(http, "GET", f"/api/v1/statuses/{ann_status}")
        assert entity["emojis"] == [
            {
                "shortcode": "blob",
                "url": f"{world.remote.base_url}/blob.png",
                "static_url": f"{world.remote.base_url}/blob.png",
                "visible_in_picker": True,
                "category": None,
            }
        ]  # :ghost: was never declared; the bad tags were skipped
        assert [emoji["shortcode"] for emoji in entity["account"]["emojis"]] == ["ann_face"]
        assert entity["account"]["emojis"][0]["url"] == f"{world.remote.base_url}/face.png"
        other = await call(http, "GET", f"/api/v1/statuses/{eve_status}")
        assert [emoji["url"] for emoji in other["emojis"]] == [f"{world.other.base_url}/other-blob.png"]
        # Our own local emojis never stand in for a remote server's.
        assert (await call(http, "GET", "/api/v1/custom_emojis")) == []

    async with world.ctx.db.read() as session:
        rows = (await session.execute(select(CustomEmoji.shortcode, CustomEmoji.domain))).all()
    assert sorted(rows) == sorted(
        [("ann_face", world.remote.host), ("blob", world.remote.host), ("blob", world.other.host)]
    )
    # Nothing was fetched but the actors: emoji images are linked, not copied.
    assert not any("png" in path for _, path, _ in world.remote.requests + world.other.requests)

    # A newer image for :blob: (an edit) replaces the old one; an older one changes nothing.
    edited = {
        **ann_note,
        "content": "<p>tea :blob: again</p>",
        "updated": "2024-02-01T00:00:00Z",
        "tag": [emoji_tag(world.ann, "blob", "blob2.png", updated="2024-02-01T00:00:00Z")],
    }
    assert (await world.deliver(world.ann.activity("Update", edited), world.ann)).status_code == 202
    await world.drain()
    stale = world.ann.note(
        "<p>:blob:</p>", tag=[emoji_tag(world.ann, "blob", "old.png", updated="2023-01-01T00:00:00Z")]
    )
    await _received(world, world.ann, stale)
    async with world.instance.client(headers=bearer(token)) as http:
        entity = await call(http, "GET", f"/api/v1/statuses/{ann_status}")
        assert [emoji["url"] for emoji in entity["emojis"]] == [f"{world.remote.base_url}/blob2.png"]

    # The actor's Update brings its new profile emojis.
    updated_actor = {
        **world.ann.document,
        "name": "Ann :ann_wave:",
        "tag": [emoji_tag(world.ann, "ann_wave", "wave.png")],
    }
    assert (await world.deliver(world.ann.activity("Update", updated_actor), world.ann)).status_code == 202
    await world.drain()
    account_id = await world.scalar(select(Account.id).where(Account.uri == world.ann.uri))
    async with world.instance.client(headers=bearer(token)) as http:
        account = await call(http, "GET", f"/api/v1/accounts/{account_id}")
        assert account["display_name"] == "Ann :ann_wave:"
        assert [emoji["url"] for emoji in account["emojis"]] == [f"{world.remote.base_url}/wave.png"]


async def test_reject_media_hosts_emojis_are_not_shown(world: InboxWorld) -> None:
    async with world.ctx.db.transaction() as session:
        await block_domain(session, world.remote.host, BlockTerms(severity="noop", reject_media=True))
    world.ann.document["tag"] = [emoji_tag(world.ann, "ann_face", "face.png")]
    await world.follow_locally(world.alice, world.ann)
    status_id = await _received(
        world, world.ann, world.ann.note("<p>:blob:</p>", tag=[emoji_tag(world.ann, "blob", "blob.png")])
    )
    token = await make_token(world.ctx, "alice")
    async with world.instance.client(headers=bearer(token)) as http:
        entity = await call(http, "GET", f"/api/v1/statuses/{status_id}")
        assert entity["emojis"] == [] and entity["account"]["emojis"] == []
    assert await world.scalar(select(CustomEmoji.id)) is None


async def test_cut_off_and_reject_media_hosts_lose_their_emojis(any_world: InboxWorld) -> None:
    world = any_world
    for actor in (world.ann, world.eve):
        actor.document["tag"] = [emoji_tag(actor, "face", "face.png")]
        await world.follow_locally(world.alice, actor)
    ann_status = await _received(
        world, world.ann, world.ann.note("<p>:blob:</p>", tag=[emoji_tag(world.ann, "blob", "b.png")])
    )
    await _received(
        world, world.eve, world.eve.note("<p>:blob:</p>", tag=[emoji_tag(world.eve, "blob", "b.png")])
    )

    outcome = await moderation.block_domain(
        world.ctx, world.remote.host, severity="noop", reject_media=True, actor="test"
    )
    assert outcome.counts.emojis == 2
    token = await make_token(world.ctx, "alice")
    async with world.instance.client(headers=bearer(token)) as http:
        entity = await call(http, "GET", f"/api/v1/statuses/{ann_status}")
        assert entity["emojis"] == [] and entity["account"]["emojis"] == []
    async with world.ctx.db.read() as session:
        left = (await session.execute(select(CustomEmoji.domain))).scalars().all()
    assert sorted(left) == [world.other.host, world.other.host]  # the other server's are untouched

    outcome = await moderation.block_domain(world.ctx, world.other.host, severity="suspend", actor="test")
    assert outcome.counts.emojis == 2
    assert await world.scalar(select(CustomEmoji.id)) is None
    eve_emojis = await world.scalar(select(Account.emojis).where(Account.uri == world.eve.uri))
    assert eve_emojis == []
