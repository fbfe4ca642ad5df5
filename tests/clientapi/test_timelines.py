"""Timelines through the real endpoints: home (from fan-out rows), public, hashtag, bookmarks, favourites,
with Link-header paging; every response validated against the Mastodon OpenAPI description."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from checked import call
from sqlalchemy import delete, select

from outbox import actions
from plein.admin import account_command
from storage.models import Account, HomeFeedEntry, Status
from support.inbox_world import InboxWorld, build_world
from support.instance import RunningInstance
from support.oauth import bearer, make_token, make_user


def _link(response_headers: Any, rel: str) -> str:
    match = re.search(rf'<([^>]+)>; rel="{rel}"', response_headers["link"])
    assert match, response_headers["link"]
    return match.group(1)


async def _store_remote_status(instance: RunningInstance, text: str) -> int:
    async with instance.ctx.db.transaction() as session:
        author = Account(username="zed", domain="remote.example", uri="https://remote.example/users/zed")
        session.add(author)
        await session.flush()
        status = Status(
            uri="https://remote.example/notes/1", account_id=author.id, local=False, content=f"<p>{text}</p>"
        )
        session.add(status)
        await session.flush()
        return status.id


async def test_home_is_read_from_fan_out_rows_and_pages(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    ctx = instance.ctx
    alice = bearer(await make_token(ctx, "alice"))
    bob = bearer(await make_token(ctx, "bob"))
    await actions.follow(ctx, await make_user(ctx, "alice"), await make_user(ctx, "bob"))
    async with instance.client(headers=alice) as a, instance.client(headers=bob) as b:
        posted = [
            (await call(b, "POST", "/api/v1/statuses", data={"status": f"bob {n}"}))["id"] for n in range(5)
        ]
        own = await call(a, "POST", "/api/v1/statuses", data={"status": "mine"})
        expected = [own["id"], *reversed(posted)]
        response = await a.get("/api/v1/timelines/home", params={"limit": 2})
        first = response.json()
        assert [s["id"] for s in first] == expected[:2]
        second_response = await a.get(_link(response.headers, "next"))
        assert [s["id"] for s in second_response.json()] == expected[2:4]
        assert _link(response.headers, "next").startswith(instance.base_url)
        newer = await call(a, "GET", "/api/v1/timelines/home", params={"min_id": expected[3], "limit": 2})
        assert [s["id"] for s in newer] == expected[1:3]
        since = await call(a, "GET", "/api/v1/timelines/home", params={"since_id": expected[3], "limit": 2})
        assert [s["id"] for s in since] == expected[:2]
        # The home timeline is the fan-out rows: without them nothing is shown, whatever the follows say.
        async with ctx.db.transaction() as session:
            await session.execute(delete(HomeFeedEntry))
        assert await call(a, "GET", "/api/v1/timelines/home") == []
        await call(b, "GET", "/api/v1/timelines/home", headers={"Authorization": "Bearer wrong"}, expect=401)


async def test_public_local_remote_and_tag(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    alice = bearer(await make_token(instance.ctx, "alice"))
    remote_id = await _store_remote_status(instance, "from afar")
    async with instance.client(headers=alice) as a, instance.client() as anonymous:
        tagged = await call(a, "POST", "/api/v1/statuses", data={"status": "with #Civic tag"})
        await call(a, "POST", "/api/v1/statuses", data={"status": "unlisted", "visibility": "unlisted"})
        everything = await call(anonymous, "GET", "/api/v1/timelines/public")
        assert [s["id"] for s in everything] == [tagged["id"], str(remote_id)]
        local = await call(anonymous, "GET", "/api/v1/timelines/public", params={"local": "true"})
        remote = await call(anonymous, "GET", "/api/v1/timelines/public", params={"remote": "1"})
        media = await call(anonymous, "GET", "/api/v1/timelines/public", params={"only_media": "true"})
        assert [s["id"] for s in local] == [tagged["id"]] and [s["id"] for s in remote] == [str(remote_id)]
        assert media == []
        assert remote[0]["account"]["acct"] == "zed@remote.example"
        by_tag = await call(anonymous, "GET", "/api/v1/timelines/tag/civic")
        assert [s["id"] for s in by_tag] == [tagged["id"]]
        assert await call(anonymous, "GET", "/api/v1/timelines/tag/other") == []


async def test_bookmarks_and_favourites_lists(instance: RunningInstance) -> None:
    alice = bearer(await make_token(instance.ctx, "alice"))
    async with instance.client(headers=alice) as a:
        ids = [(await call(a, "POST", "/api/v1/statuses", data={"status": f"s{n}"}))["id"] for n in range(3)]
        for status_id in (ids[0], ids[2], ids[1]):
            await call(a, "POST", f"/api/v1/statuses/{status_id}/bookmark")
        await call(a, "POST", f"/api/v1/statuses/{ids[1]}/favourite")
        response = await a.get("/api/v1/bookmarks", params={"limit": 2})
        # Newest bookmark first, paged by bookmark (not status) order.
        assert [s["id"] for s in response.json()] == [ids[1], ids[2]]
        rest = await a.get(_link(response.headers, "next"))
        assert [s["id"] for s in rest.json()] == [ids[0]]
        favourites = await call(a, "GET", "/api/v1/favourites")
        assert [s["id"] for s in favourites] == [ids[1]] and favourites[0]["favourited"] is True
    reader = bearer(await make_token(instance.ctx, "carol", scopes="read:statuses"))
    async with instance.client(headers=reader) as c:
        await call(c, "GET", "/api/v1/bookmarks", expect=403)


async def _accepted(world: InboxWorld, activity: dict[str, Any]) -> None:
    response = await world.deliver(activity, world.ann)
    assert response.status_code == 202, response.text
    await world.drain()


async def _home_pages(client: Any, limit: int) -> list[list[str]]:
    """Every page of the home timeline, following the `next` links until an empty page."""
    pages: list[list[str]] = []
    response = await client.get("/api/v1/timelines/home", params={"limit": limit})
    while True:
        assert response.status_code == 200, response.text
        pages.append([status["id"] for status in response.json()])
        if not pages[-1]:
            return pages
        response = await client.get(_link(response.headers, "next"))


async def test_home_pages_stay_full_when_statuses_go_and_authors_are_suspended(
    tmp_path: Path, database_url: str
) -> None:
    """A home page takes its feed rows before reading the statuses, so whatever must not be shown has to be
    out of the feed: statuses deleted through the API (outbox) and by a remote `Delete` (inbox), and the
    statuses of a suspended author, which come back when the suspension is lifted."""
    async for world in build_world(tmp_path, database_url):
        ctx = world.ctx
        alice = world.alice
        carl, dora = await make_user(ctx, "carl"), await make_user(ctx, "dora")
        for author in (carl, dora):
            await actions.follow(ctx, alice, author)
        await world.follow_locally(alice, world.ann)
        notes = [world.ann.note(f"<p>ann {n}</p>") for n in range(3)]
        posted: dict[str, list[str]] = {"carl": [], "dora": [], "ann": []}
        clients = {name: bearer(await make_token(ctx, name)) for name in ("alice", "carl", "dora")}
        async with (
            world.instance.client(headers=clients["carl"]) as c,
            world.instance.client(headers=clients["dora"]) as d,
        ):
            for n in range(3):  # interleaved: carl, dora, dora, ann, …
                posted["carl"].append(
                    (await call(c, "POST", "/api/v1/statuses", data={"status": f"c{n}"}))["id"]
                )
                for m in range(2):
                    status = await call(d, "POST", "/api/v1/statuses", data={"status": f"d{n}{m}"})
                    posted["dora"].append(status["id"])
                await _accepted(world, world.ann.activity("Create", notes[n]))
                async with ctx.db.read() as session:
                    ann_status = await session.scalar(select(Status.id).where(Status.uri == notes[n]["id"]))
                posted["ann"].append(str(ann_status))
            await call(c, "DELETE", f"/api/v1/statuses/{posted['carl'][1]}")
        await _accepted(world, world.ann.activity("Delete", {"id": notes[1]["id"], "type": "Tombstone"}))
        kept = sorted((*posted["carl"][::2], *posted["ann"][::2], *posted["dora"]), key=int, reverse=True)
        suspend = argparse.Namespace(action="suspend", username="dora", text="", dry_run=False)
        async with world.instance.client(headers=clients["alice"]) as a:
            assert sum(await _home_pages(a, 3), []) == kept
            assert await account_command(ctx, suspend) == 0
            pages = await _home_pages(a, 2)
            without_dora = [status for status in kept if status not in posted["dora"]]
            assert sum(pages, []) == without_dora
            full, rest = divmod(len(without_dora), 2)
            assert [len(page) for page in pages] == [2] * full + [rest] * bool(rest) + [0]
            assert (
                await account_command(ctx, argparse.Namespace(**{**vars(suspend), "action": "unsuspend"}))
                == 0
            )
            assert sum(await _home_pages(a, 3), []) == kept
