"""`GET /api/v2/search`: local text search, and `resolve=true` reaching a second live instance through
WebFinger (an address, with or without `@`) and by URL (a status, an actor)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from checked import call

from support.databases import sqlite_url
from support.instance import RunningInstance, make_settings, serve_in_process
from support.oauth import bearer, make_token
from support.openapi import validate_entity


@pytest.fixture
async def other_instance(tmp_path: Path) -> AsyncIterator[RunningInstance]:
    """A second live instance on its own port and database."""
    folder = tmp_path / "other"
    folder.mkdir()
    async with serve_in_process(make_settings(folder, database_url=sqlite_url(str(folder)))) as running:
        yield running


async def test_local_accounts_statuses_and_hashtags(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    alice = bearer(await make_token(instance.ctx, "alice"))
    await make_token(instance.ctx, "alicia")
    async with instance.client(headers=alice) as a:
        await call(a, "POST", "/api/v1/statuses", data={"status": "Budget review #Finance2026"})
        await call(a, "POST", "/api/v1/statuses", data={"status": "secret budget", "visibility": "direct"})
        found = await call(a, "GET", "/api/v2/search", params={"q": "ali"})
        validate_entity("Search", found, all_properties=True)
        assert sorted(x["username"] for x in found["accounts"]) == ["alice", "alicia"]
        statuses = await call(a, "GET", "/api/v2/search", params={"q": "budget", "type": "statuses"})
        assert len(statuses["statuses"]) == 2 and statuses["accounts"] == []
        tags = await call(a, "GET", "/api/v2/search", params={"q": "#finance", "type": "hashtags"})
        validate_entity("Tag", tags["hashtags"], all_properties=True)
        assert [t["name"] for t in tags["hashtags"]] == ["finance2026"]
        exact = await call(a, "GET", "/api/v2/search", params={"q": "@alice@" + instance.ctx.domain})
        assert [x["username"] for x in exact["accounts"]] == ["alice"]
        await call(a, "GET", "/api/v2/search", params={"q": "x", "type": "bogus"}, expect=422)
    async with instance.client() as anonymous:
        anonymous_view = await call(anonymous, "GET", "/api/v2/search", params={"q": "budget"})
        assert len(anonymous_view["statuses"]) == 1  # the direct one is not theirs to see
        await call(anonymous, "GET", "/api/v2/search", params={"q": "x", "resolve": "true"}, expect=401)


async def test_resolve_remote_address_and_urls(
    instance: RunningInstance, other_instance: RunningInstance
) -> None:
    alice = bearer(await make_token(instance.ctx, "alice"))
    await make_token(other_instance.ctx, "rosa")
    address = f"rosa@{other_instance.ctx.domain}"
    async with instance.client(headers=alice) as a:
        unresolved = await call(a, "GET", "/api/v2/search", params={"q": address})
        assert unresolved["accounts"] == []
        for query in (address, f"@{address}"):
            found = await call(a, "GET", "/api/v2/search", params={"q": query, "resolve": "true"})
            assert [x["acct"] for x in found["accounts"]] == [address]
        missing = f"nobody@{other_instance.ctx.domain}"
        nothing = await call(a, "GET", "/api/v2/search", params={"q": missing, "resolve": "true"})
        assert nothing["accounts"] == []


async def test_resolve_status_and_actor_urls(
    instance: RunningInstance, other_instance: RunningInstance
) -> None:
    alice = bearer(await make_token(instance.ctx, "alice"))
    remote_token = bearer(await make_token(other_instance.ctx, "rosa"))
    async with other_instance.client(headers=remote_token) as r:
        remote_status = await call(
            r, "POST", "/api/v1/statuses", data={"status": "hello from the other side"}
        )
    address = f"rosa@{other_instance.ctx.domain}"
    async with instance.client(headers=alice) as a:
        actor_url = remote_status["account"]["uri"]
        by_actor = await call(a, "GET", "/api/v2/search", params={"q": actor_url, "resolve": "true"})
        assert [x["acct"] for x in by_actor["accounts"]] == [address]
        by_url = await call(a, "GET", "/api/v2/search", params={"q": remote_status["uri"], "resolve": "true"})
        assert [s["uri"] for s in by_url["statuses"]] == [remote_status["uri"]]
        assert "hello from the other side" in by_url["statuses"][0]["content"]
        fetched = await call(a, "GET", f"/api/v1/statuses/{by_url['statuses'][0]['id']}")
        assert fetched["account"]["acct"] == address
