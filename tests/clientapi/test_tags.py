"""Followed hashtags through the real endpoints and the Mastodon.py client, on both backends: following a
hashtag brings public statuses carrying it — local, and received through the inbox — into the follower's
home, never unlisted, private or direct ones, nor those of authors the follower blocks, mutes or
domain-blocks; the Tag entity tells `following` and the week's use; unfollowing takes back what came only
through the hashtag. Bad names and missing scopes change nothing. Responses validated against the OpenAPI
description."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from checked import call
from mastodon import Mastodon
from sqlalchemy import func, select

from outbox import actions
from storage.models import Account, Status, TagFollow
from support.inbox_world import build_world
from support.instance import RunningInstance
from support.oauth import bearer, make_token, make_user


def _ids(statuses: list[dict[str, Any]]) -> list[str]:
    return [str(status["id"]) for status in statuses]


async def test_a_followed_hashtag_feeds_home(tmp_path: Path, database_url: str) -> None:
    async for world in build_world(tmp_path, database_url):
        ctx = world.ctx
        names = ("alice", "bob", "carol", "dave", "erin")
        tokens = {name: await make_token(ctx, name) for name in names}
        accounts = {name: await make_user(ctx, name) for name in names}
        alice = Mastodon(access_token=tokens["alice"], api_base_url=world.instance.base_url)
        # dave follows ann and ben, so their posts are accepted here (nothing unsolicited is stored).
        await world.follow_locally(accounts["dave"], world.ann)
        await world.follow_locally(accounts["dave"], world.ben)
        async with (
            world.instance.client(headers=bearer(tokens["alice"])) as a,
            world.instance.client(headers=bearer(tokens["bob"])) as b,
            world.instance.client(headers=bearer(tokens["carol"])) as c,
            world.instance.client(headers=bearer(tokens["dave"])) as d,
            world.instance.client(headers=bearer(tokens["erin"])) as e,
        ):
            unsaved = await call(a, "GET", "/api/v1/tags/Civic")
            assert unsaved == {
                "id": "",
                "name": "civic",
                "url": f"{ctx.base_url}/tags/civic",
                "history": [],
            } | {
                "following": False,
                "featuring": False,
            }
            followed = await asyncio.to_thread(alice.tag_follow, "Civic")
            assert followed["following"] is True and followed["name"] == "civic" and followed["id"]
            assert (await call(a, "POST", "/api/v1/tags/civic/follow"))["following"] is True  # idempotent
            await call(a, "POST", "/api/v1/tags/budget/follow")
            listed = await asyncio.to_thread(alice.followed_tags)
            assert [tag["name"] for tag in listed] == ["budget", "civic"]
            assert [
                tag["name"] for tag in await call(a, "GET", "/api/v1/followed_tags", params={"limit": 1})
            ] == ["budget"]

            public = await call(e, "POST", "/api/v1/statuses", data={"status": "News for #Civic servants"})
            both = await call(d, "POST", "/api/v1/statuses", data={"status": "#civic and #budget"})
            dave_civic = await call(d, "POST", "/api/v1/statuses", data={"status": "#civic only"})
            hidden = [
                (await call(b, "POST", "/api/v1/statuses", data={"status": "#civic", "visibility": v}))["id"]
                for v in ("unlisted", "private", "direct")
            ]
            untagged = await call(b, "POST", "/api/v1/statuses", data={"status": "no hashtag"})
            await call(a, "POST", f"/api/v1/accounts/{accounts['carol'].id}/block")
            blocked = await call(c, "POST", "/api/v1/statuses", data={"status": "#civic from carol"})
            # A remote post with the hashtag, through the inbox; and one by ben, whom alice mutes.
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            tag = [{"type": "Hashtag", "href": "https://remote.example/tags/civic", "name": "#civic"}]
            remote_note = world.ann.note("<p>#civic from afar</p>", tag=tag, published=now)
            ben_id = await world.scalar(select(Account.id).where(Account.uri == world.ben.uri))
            await call(a, "POST", f"/api/v1/accounts/{ben_id}/mute")
            muted_note = world.ben.note("<p>#civic from ben</p>", tag=tag, published=now)
            for note, actor in ((remote_note, world.ann), (muted_note, world.ben)):
                response = await world.deliver(actor.activity("Create", note), actor)
                assert response.status_code == 202, response.text
            await world.drain()
            remote_id = str(await world.scalar(select(Status.id).where(Status.uri == remote_note["id"])))
            muted_id = str(await world.scalar(select(Status.id).where(Status.uri == muted_note["id"])))

            home = _ids(await asyncio.to_thread(alice.timeline_home))
            # (the remote status's id comes from its `published` time: home is in id order)
            assert sorted(home) == sorted([remote_id, dave_civic["id"], both["id"], public["id"]])
            for absent in (*hidden, untagged["id"], blocked["id"], muted_id):
                assert absent not in home

            tag_entity = await asyncio.to_thread(alice.tag, "civic")
            assert tag_entity["following"] is True and tag_entity["featuring"] is False
            assert len(tag_entity["history"]) == 7
            today = (await call(a, "GET", "/api/v1/tags/civic"))["history"][0]
            # Public and unlisted uses count: erin's, bob's unlisted, dave's two, carol's, ann's, ben's.
            assert (today["uses"], today["accounts"]) == ("7", "6")
            assert int(today["day"]) == int(datetime.now(UTC).replace(hour=0, minute=0, second=0).timestamp())

            # Unfollowing the hashtag takes out what came only through it: erin's stays (alice follows her
            # by now), dave's post with #budget stays while #budget is followed; ann's and dave's other go.
            await call(a, "POST", f"/api/v1/accounts/{accounts['erin'].id}/follow")
            await asyncio.to_thread(alice.tag_unfollow, "civic")
            assert _ids(await call(a, "GET", "/api/v1/timelines/home")) == [both["id"], public["id"]]
            await call(a, "POST", "/api/v1/tags/budget/unfollow")
            assert _ids(await call(a, "GET", "/api/v1/timelines/home")) == [public["id"]]
            assert (await call(a, "GET", "/api/v1/tags/civic"))["following"] is False
            assert await call(a, "GET", "/api/v1/followed_tags") == []
            later = await call(e, "POST", "/api/v1/statuses", data={"status": "#civic again"})
            assert later["id"] in _ids(await call(a, "GET", "/api/v1/timelines/home"))  # followed now
            dave_later = await call(d, "POST", "/api/v1/statuses", data={"status": "#civic still"})
            assert dave_later["id"] not in _ids(await call(a, "GET", "/api/v1/timelines/home"))


async def test_hashtag_refusals_change_nothing(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    ctx = instance.ctx
    token = bearer(await make_token(ctx, "alice"))
    read_only = bearer(await make_token(ctx, "alice", scopes="read"))
    await actions.post_status(ctx, await make_user(ctx, "bob"), text="#civic")
    async with instance.client(headers=token) as a:
        for bad in ("%23", "123", "a%20b", "x" * 300, "-_-"):
            await call(a, "GET", f"/api/v1/tags/{bad}", expect=404)
            await call(a, "POST", f"/api/v1/tags/{bad}/follow", expect=404)
        response = await a.post("/api/v1/tags/civic/follow", headers=read_only)
        assert response.status_code == 403 and "error" in response.json()
        response = await a.get("/api/v1/followed_tags", headers={"Authorization": "Bearer nope"})
        assert response.status_code == 401 and "error" in response.json()
        follow_only = bearer(await make_token(ctx, "alice", scopes="write:follows"))
        assert (await call(a, "GET", "/api/v1/tags/civic", headers=follow_only))["following"] is False
        async with instance.client() as anonymous_client:
            anonymous = await call(anonymous_client, "GET", "/api/v1/tags/civic")
        assert "following" not in anonymous and anonymous["history"][0]["uses"] == "1"
        assert await call(a, "POST", "/api/v1/tags/civic/unfollow") == await call(
            a, "GET", "/api/v1/tags/civic"
        )
    async with ctx.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(TagFollow)) == 0
