"""A relay subscription through the real endpoints, with a fake relay server that records what it gets: the
instance actor's Follow, who may answer it (only the relay's own origin), and which of our posts go to it
(public ones; not unlisted or followers-only). The whole round trip with a real relay server is in
tests/federation/test_relays.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select

import moderation
from apub.vocab import PUBLIC
from outbox.actions import add_relay
from storage.models import MediaAttachment, Relay
from storage.statuses import status_by_uri
from support.inbox_remote import FakeRemote
from support.inbox_world import InboxWorld, build_world, rsa_pem
from support.oauth import bearer, make_token


async def _relay(world: InboxWorld) -> Relay:
    async with world.ctx.db.read() as session:
        relay = await session.scalar(select(Relay))
    assert relay is not None
    return relay


def _answer(follow: dict[str, Any], relay_uri: str) -> dict[str, Any]:
    return {"id": follow["id"], "type": "Follow", "actor": follow["actor"], "object": relay_uri}


async def test_only_the_relay_accepts_and_only_public_posts_go_to_it(tmp_path: Path, database_url: str):
    async for world in build_world(tmp_path, database_url):
        relay_actor = world.remote.add_actor("relay", rsa_pem(4), type="Application")
        inbox = f"{world.remote.base_url}/inbox"
        await add_relay(world.ctx, inbox, actor="test")
        await world.drain()
        [follow] = world.remote.posted_to("/inbox")
        assert follow["type"] == "Follow" and follow["object"] == PUBLIC
        assert follow["actor"] == f"{world.instance.base_url}/actor"

        # eve's server is not the relay's: refused at the door when the answer embeds our Follow of Public,
        # dropped by the handler when it names the Follow by id only
        forged = world.eve.activity("Accept", _answer(follow, PUBLIC))
        assert (await world.deliver(forged, world.eve)).status_code == 403
        by_id = world.eve.activity("Accept", follow["id"])
        assert (await world.deliver(by_id, world.eve)).status_code == 202
        await world.drain()
        assert (await _relay(world)).state == "pending"

        # a Mastodon-style relay embeds our Follow as it was (object: Public)
        accept = relay_actor.activity("Accept", _answer(follow, PUBLIC))
        assert (await world.deliver(accept, relay_actor)).status_code == 202
        await world.drain()
        relay = await _relay(world)
        assert (relay.state, relay.actor_uri) == ("accepted", relay_actor.uri)

        token = bearer(await make_token(world.ctx, "alice"))
        for visibility in ("unlisted", "private", "public"):
            posted = await world.client.post(
                "/api/v1/statuses",
                json={"status": f"{visibility} hello", "visibility": visibility},
                headers=token,
            )
            assert posted.status_code == 200, posted.text
        await world.drain()
        relayed = [activity for activity in world.remote.posted_to("/inbox") if activity["type"] == "Create"]
        assert [activity["object"]["content"] for activity in relayed] == ["<p>public hello</p>"]
        assert (await _relay(world)).sent_count == 1


async def _accepted_relay(world: InboxWorld, server: FakeRemote) -> Any:
    relay_actor = server.add_actor("relay", rsa_pem(4), type="Application")
    await add_relay(world.ctx, f"{server.base_url}/inbox", actor="test")
    await world.drain()
    [follow] = server.posted_to("/inbox")
    assert (await world.deliver(relay_actor.activity("Accept", follow), relay_actor)).status_code == 202
    await world.drain()
    assert (await _relay(world)).state == "accepted"
    return relay_actor


async def _public_timeline(world: InboxWorld) -> list[str]:
    token = bearer(await make_token(world.ctx, "alice"))
    response = await world.client.get("/api/v1/timelines/public", headers=token)
    return [item["uri"] for item in response.json()]


async def test_relayed_posts_answer_to_their_origins_domain_policy(tmp_path: Path, database_url: str):
    async for world in build_world(tmp_path, database_url):
        relay_actor = await _accepted_relay(world, world.remote)
        image = {"type": "Document", "mediaType": "image/png", "url": f"{world.other.base_url}/a.png"}
        plain, silenced = (
            world.eve.note("<p>plain</p>"),
            world.eve.note("<p>silenced</p>", attachment=[image]),
        )
        for note in (plain, silenced):
            world.other.serve(note)
        # eve's server is unknown to alice: an Announce by anyone else would be dropped as unsolicited
        boost = world.ann.activity("Announce", plain["id"])
        assert (await world.deliver(boost, world.ann)).status_code == 202
        await world.drain()
        assert plain["id"] not in await _public_timeline(world)

        relayed = relay_actor.activity("Announce", plain["id"])
        assert (await world.deliver(relayed, relay_actor)).status_code == 202
        await world.drain()
        assert await _public_timeline(world) == [plain["id"]]
        assert (await _relay(world)).received_count == 1

        await moderation.block_domain(
            world.ctx, world.other.host, actor="test", severity="silence", reject_media=True
        )
        relayed = relay_actor.activity("Announce", silenced["id"])
        assert (await world.deliver(relayed, relay_actor)).status_code == 202
        await world.drain()
        async with world.ctx.db.read() as session:
            stored = await status_by_uri(session, silenced["id"])
            assert stored is not None
            media = await session.scalar(
                select(func.count())
                .select_from(MediaAttachment)
                .where(MediaAttachment.status_id == stored.id)
            )
        assert media == 0  # reject media: stored without its attachment
        assert silenced["id"] not in await _public_timeline(world)  # silenced: out of public timelines
        token = bearer(await make_token(world.ctx, "alice"))
        assert (await world.client.get("/api/v1/notifications", headers=token)).json() == []


async def test_replies_to_others_stay_off_the_relay_and_self_replies_go(tmp_path: Path, database_url: str):
    async for world in build_world(tmp_path, database_url):
        await _accepted_relay(world, world.other)  # the relay has a server of its own, not ann's
        ann_note = world.ann.note("<p>a question</p>")
        world.remote.serve(ann_note)
        token = bearer(await make_token(world.ctx, "alice"))
        found = await world.client.get(
            "/api/v2/search", params={"q": ann_note["id"], "resolve": "true"}, headers=token
        )
        [ann_status] = found.json()["statuses"]
        replies = {}
        for text, parent in (("to ann", ann_status["id"]), ("thread start", None)):
            posted = await world.client.post(
                "/api/v1/statuses", json={"status": text, "in_reply_to_id": parent}, headers=token
            )
            assert posted.status_code == 200, posted.text
            replies[text] = posted.json()
        own = await world.client.post(
            "/api/v1/statuses",
            json={"status": "more of my thread", "in_reply_to_id": replies["thread start"]["id"]},
            headers=token,
        )
        assert own.status_code == 200, own.text
        await world.drain()
        relayed = [a["object"]["content"] for a in world.other.posted_to("/inbox") if a["type"] == "Create"]
        assert sorted(relayed) == ["<p>more of my thread</p>", "<p>thread start</p>"]


async def test_a_relay_that_refuses_is_marked_rejected(tmp_path: Path, database_url: str):
    async for world in build_world(tmp_path, database_url):
        relay_actor = world.remote.add_actor("relay", rsa_pem(4), type="Application")
        await add_relay(world.ctx, f"{world.remote.base_url}/inbox", actor="test")
        await world.drain()
        [follow] = world.remote.posted_to("/inbox")
        # a LitePub relay (ActivityRelay) names itself as the Follow's object
        reject = relay_actor.activity("Reject", _answer(follow, relay_actor.uri))
        assert (await world.deliver(reject, relay_actor)).status_code == 202
        await world.drain()
        assert (await _relay(world)).state == "rejected"
