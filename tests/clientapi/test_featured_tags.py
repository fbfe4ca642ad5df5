"""Featured hashtags through the real endpoints and the Mastodon.py client, on both backends: create (also
as Mastodon 4.4's `POST /api/v1/tags/:id/feature`), list with Mastodon's counts, suggestions, another
account's list, delete; the limit of ten and bad input change nothing; the actor's `featuredTags`
collection fetched as ActivityStreams, and `Add` / `Remove` of the `Hashtag` delivered to a remote
follower. Responses validated against the OpenAPI description."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from checked import call
from mastodon import Mastodon
from sqlalchemy import func, select

from storage.models import FeaturedTag
from support.inbox_world import InboxWorld, build_world
from support.oauth import bearer, make_token, make_user

AS2 = {"Accept": "application/activity+json"}


def _delivered(world: InboxWorld, kind: str) -> list[dict[str, Any]]:
    posted = world.remote.posted_to("/inbox") + world.remote.posted_to("/users/ann/inbox")
    return [activity for activity in posted if activity["type"] == kind]


async def test_featured_tags_crud_counts_and_federation(tmp_path: Path, database_url: str) -> None:
    async for world in build_world(tmp_path, database_url):
        ctx = world.ctx
        token = await make_token(ctx, "alice")
        alice = Mastodon(access_token=token, api_base_url=world.instance.base_url, version_check_mode="none")
        response = await world.deliver(world.ann.activity("Follow", world.alice.uri), world.ann)
        assert response.status_code == 202
        await world.drain()
        base = world.instance.base_url
        async with world.instance.client(headers=bearer(token)) as a:
            for text, visibility in (
                ("#Civic one", "public"),
                ("#civic two", "unlisted"),
                ("#civic three", "private"),
                ("#civic four", "direct"),
                ("#budget", "public"),
                ("#budget again", "public"),
            ):
                await call(a, "POST", "/api/v1/statuses", data={"status": text, "visibility": visibility})
            boosted = await call(a, "POST", "/api/v1/statuses", data={"status": "#civic five"})
            await call(a, "POST", f"/api/v1/statuses/{boosted['id']}/reblog")
            await call(a, "DELETE", f"/api/v1/statuses/{boosted['id']}")  # a deleted one does not count

            assert [tag["name"] for tag in await call(a, "GET", "/api/v1/featured_tags/suggestions")] == [
                "civic",
                "budget",
            ]
            created = await asyncio.to_thread(alice.featured_tag_create, "Civic")
            assert created["name"] == "Civic"
            listed = await call(a, "GET", "/api/v1/featured_tags")
            today = datetime.now(UTC).date().isoformat()
            assert listed == [
                {
                    "id": str(created["id"]),
                    "name": "Civic",
                    "url": f"{base}/@alice/tagged/civic",
                    "statuses_count": "2",  # public and unlisted, as Mastodon counts
                    "last_status_at": today,
                }
            ]
            again = await call(a, "POST", "/api/v1/featured_tags", json={"name": "civic"})
            assert again["id"] == listed[0]["id"]  # featuring twice answers the existing one
            assert [tag["name"] for tag in await asyncio.to_thread(alice.featured_tag_suggestions)] == [
                "budget"
            ]
            featured = await asyncio.to_thread(alice.tag_feature, "budget")
            assert featured["featuring"] is True and featured["name"] == "budget"
            me = await call(a, "GET", "/api/v1/accounts/verify_credentials")
            shown = await asyncio.to_thread(alice.account_featured_tags, me["id"])
            assert [(tag["name"], tag["statuses_count"]) for tag in shown] == [
                ("Civic", "2"),
                ("budget", "2"),
            ]

            # The actor names the collection, and the collection lists both as Hashtags.
            actor = (await a.get("/users/alice", headers=AS2)).json()
            assert actor["featuredTags"] == f"{base}/users/alice/collections/tags"
            collection = await a.get(actor["featuredTags"], headers=AS2)
            assert collection.headers["content-type"].startswith("application/activity+json")
            assert collection.json() | {"@context": None} == {
                "@context": None,
                "id": actor["featuredTags"],
                "type": "Collection",
                "totalItems": 2,
                "items": [
                    {"type": "Hashtag", "href": f"{base}/@alice/tagged/civic", "name": "#Civic"},
                    {"type": "Hashtag", "href": f"{base}/@alice/tagged/budget", "name": "#budget"},
                ],
            }
            await world.drain()
            added = _delivered(world, "Add")
            assert sorted((activity["object"] for activity in added), key=lambda tag: tag["name"]) == [
                {"type": "Hashtag", "href": f"{base}/tags/civic", "name": "#Civic"},
                {"type": "Hashtag", "href": f"{base}/tags/budget", "name": "#budget"},
            ]
            assert {activity["target"] for activity in added} == {f"{base}/users/alice/collections/featured"}

            await asyncio.to_thread(alice.featured_tag_delete, created["id"])
            unfeatured = await asyncio.to_thread(alice.tag_unfeature, "budget")
            assert unfeatured["featuring"] is False
            assert await call(a, "GET", "/api/v1/featured_tags") == []
            assert (await a.get(actor["featuredTags"], headers=AS2)).json()["items"] == []
            await world.drain()
            assert sorted(activity["object"]["name"] for activity in _delivered(world, "Remove")) == [
                "#Civic",
                "#budget",
            ]


async def test_featured_tag_refusals_change_nothing(tmp_path: Path, database_url: str) -> None:
    async for world in build_world(tmp_path, database_url):
        ctx = world.ctx
        alice, mallory = bearer(await make_token(ctx, "alice")), bearer(await make_token(ctx, "mallory"))
        read_only = bearer(await make_token(ctx, "alice", scopes="read"))
        async with world.instance.client(headers=alice) as a, world.instance.client(headers=mallory) as m:
            kept = [
                await call(a, "POST", "/api/v1/featured_tags", data={"name": f"tag{n}"}) for n in range(10)
            ]
            error = await call(a, "POST", "/api/v1/featured_tags", data={"name": "eleventh"}, expect=422)
            assert "at most 10" in error["error"]
            for bad in ({"name": "123"}, {"name": "a b"}, {"name": ""}, {}, {"name": "x" * 300}):
                await call(a, "POST", "/api/v1/featured_tags", data=bad, expect=422)
            await call(a, "POST", "/api/v1/tags/eleventh/feature", expect=422)
            await call(a, "POST", "/api/v1/tags/123/feature", expect=404)
            await call(m, "DELETE", f"/api/v1/featured_tags/{kept[0]['id']}", expect=404)
            await call(a, "DELETE", "/api/v1/featured_tags/nope", expect=404)
            await call(a, "DELETE", "/api/v1/featured_tags/123456789", expect=404)
            response = await a.post("/api/v1/featured_tags", data={"name": "civic"}, headers=read_only)
            assert response.status_code == 403 and "error" in response.json()
            response = await a.get("/api/v1/featured_tags", headers={"Authorization": "Bearer nope"})
            assert response.status_code == 401 and "error" in response.json()
            await call(a, "GET", "/api/v1/accounts/123456789/featured_tags", expect=404)
            assert await call(m, "GET", "/api/v1/featured_tags") == []
            assert len(await call(a, "GET", "/api/v1/featured_tags")) == 10
        mallory_id = (await make_user(ctx, "mallory")).id
        async with world.instance.client() as anonymous:
            assert await call(anonymous, "GET", f"/api/v1/accounts/{mallory_id}/featured_tags") == []
            alice_id = (await make_user(ctx, "alice")).id
            listed = await call(
                anonymous, "GET", f"/api/v1/accounts/{alice_id}/featured_tags", headers=read_only
            )
            assert len(listed) == 10
        async with ctx.db.read() as session:
            assert await session.scalar(select(func.count()).select_from(FeaturedTag)) == 10
