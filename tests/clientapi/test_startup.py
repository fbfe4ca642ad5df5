"""Endpoints apps call at start-up answer correct empty results (not 404), with their scopes checked;
blocks and mutes list real rows."""

from __future__ import annotations

from checked import call

from clientapi.startup import EMPTY_LISTS
from support.instance import RunningInstance
from support.oauth import bearer, make_token, make_user
from support.openapi import openapi_document


async def test_startup_endpoints_answer_empty_lists(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    token = await make_token(instance.ctx, "alice")
    described = openapi_document()["paths"]

    async with instance.client(headers=bearer(token)) as client:
        for path, _scopes in EMPTY_LISTS:
            operations = described.get(path, {})
            if "get" in operations:
                assert await call(client, "GET", path) == []
            else:
                response = await client.get(path)
                assert response.status_code == 200 and response.json() == []


async def test_startup_endpoints_check_tokens_and_scopes(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    statuses_only = await make_token(instance.ctx, "alice", "read:statuses")
    async with instance.client() as client:
        assert (await client.get("/api/v1/custom_emojis")).status_code == 200  # public
        assert (await client.get("/api/v1/trends/tags")).status_code == 200
        assert (await client.get("/api/v2/filters")).status_code == 401
        assert (await client.get("/api/v1/lists", headers=bearer(statuses_only))).status_code == 403


async def test_blocks_list_and_block_unblock(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    token = await make_token(instance.ctx, "alice")
    bob = await make_user(instance.ctx, "bob")
    async with instance.client(headers=bearer(token)) as client:
        await call(client, "POST", f"/api/v1/accounts/{bob.id}/follow")
        blocked = await call(client, "POST", f"/api/v1/accounts/{bob.id}/block")
        assert blocked["blocking"] is True and blocked["following"] is False
        assert [account["username"] for account in await call(client, "GET", "/api/v1/blocks")] == ["bob"]
        assert await call(client, "GET", "/api/v1/mutes") == []
        unblocked = await call(client, "POST", f"/api/v1/accounts/{bob.id}/unblock")
        assert unblocked["blocking"] is False
        assert await call(client, "GET", "/api/v1/blocks") == []
