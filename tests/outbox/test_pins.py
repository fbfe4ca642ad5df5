"""Pinning through the client API: the profile's featured collection, the `pinned` flag and filter, limits,
and the `Add` / `Remove` activities stored for followers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.models import Activity
from support.instance import RunningInstance, make_settings, serve_in_process
from support.oauth import make_token

AS2 = {"Accept": "application/activity+json"}


@pytest.fixture
async def instance(tmp_path: Path) -> AsyncIterator[RunningInstance]:
    async with serve_in_process(make_settings(tmp_path)) as running:
        yield running


async def test_pin_unpin_and_featured_collection(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    token = await make_token(instance.ctx, "minister", "read write")
    other = await make_token(instance.ctx, "clerk", "read write")
    auth = {"Authorization": f"Bearer {token}"}
    async with instance.client(headers=auth) as client:
        posts = []
        for number in range(6):
            response = await client.post("/api/v1/statuses", data={"status": f"Decision {number}"})
            posts.append(response.json()["id"])
        private = (
            await client.post("/api/v1/statuses", data={"status": "inner", "visibility": "private"})
        ).json()
        pinned = await client.post(f"/api/v1/statuses/{posts[0]}/pin")
        assert pinned.status_code == 200 and pinned.json()["pinned"] is True
        assert (await client.post(f"/api/v1/statuses/{posts[0]}/pin")).status_code == 200  # idempotent
        for post in posts[1:5]:
            assert (await client.post(f"/api/v1/statuses/{post}/pin")).status_code == 200
        too_many = await client.post(f"/api/v1/statuses/{posts[5]}/pin")
        assert too_many.status_code == 422 and "at most 5" in too_many.json()["error"]
        assert (await client.post(f"/api/v1/statuses/{private['id']}/pin")).status_code == 422
        me = (await client.get("/api/v1/accounts/verify_credentials")).json()
        listed = (await client.get(f"/api/v1/accounts/{me['id']}/statuses", params={"pinned": "true"})).json()
        assert {status["id"] for status in listed} == set(posts[:5])

        featured = (await client.get("/users/minister/collections/featured", headers=AS2)).json()
        assert featured["type"] == "OrderedCollection" and featured["totalItems"] == 5
        assert all(item["type"] == "Note" for item in featured["orderedItems"])

        unpinned = await client.post(f"/api/v1/statuses/{posts[0]}/unpin")
        assert unpinned.status_code == 200 and unpinned.json()["pinned"] is False
        featured = (await client.get("/users/minister/collections/featured", headers=AS2)).json()
        assert featured["totalItems"] == 4
    async with instance.client(headers={"Authorization": f"Bearer {other}"}) as client:
        assert (await client.post(f"/api/v1/statuses/{posts[1]}/pin")).status_code == 404
    async with instance.client() as client:
        assert (await client.post(f"/api/v1/statuses/{posts[1]}/pin")).status_code == 401
    async with instance.ctx.db.read() as session:
        kinds = [row.activity_type for row in (await session.execute(select(Activity))).scalars()]
    assert kinds.count("Add") == 5 and kinds.count("Remove") == 1
