"""Streaming over real HTTP: server-sent events and WebSocket, fed by posts made through the outbox."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import websockets

from outbox.actions import delete_status, follow, post_status
from storage.accounts import local_account_by_username
from support.instance import RunningInstance, make_settings, serve_in_process
from support.oauth import make_token
from support.streams import next_sse_event


@pytest.fixture
async def instance(tmp_path: Path) -> AsyncIterator[RunningInstance]:
    async with serve_in_process(make_settings(tmp_path)) as running:
        yield running


async def _accounts(instance: RunningInstance, *names: str):  # type: ignore[no-untyped-def]
    assert instance.ctx is not None
    async with instance.ctx.db.read() as session:
        return [await local_account_by_username(session, name) for name in names]


async def test_sse_user_stream_gets_followed_post_and_mention(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    reader_token = await make_token(instance.ctx, "reader", "read")
    await make_token(instance.ctx, "author", "read write")
    reader, author = await _accounts(instance, "reader", "author")
    await follow(instance.ctx, reader, author)
    async with instance.client() as client:
        headers = {"Authorization": f"Bearer {reader_token}"}
        async with client.stream("GET", "/api/v1/streaming/user", headers=headers) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            lines = response.aiter_lines()
            assert await anext(lines) == ":)"  # the server has subscribed
            await post_status(instance.ctx, author, text="Budget published today")
            event, data = await asyncio.wait_for(next_sse_event(lines), 10)
            assert event == "update"
            status = json.loads(data)
            assert "Budget published today" in status["content"] and status["account"]["username"] == "author"
            await post_status(instance.ctx, author, text="@reader please review", visibility="direct")
            seen = set()
            while seen != {"update", "notification"}:
                event, data = await asyncio.wait_for(next_sse_event(lines), 10)
                seen.add(event)
                if event == "notification":
                    assert json.loads(data)["type"] == "mention"


async def test_stream_refuses_bad_tokens_and_scopes(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    write_only = await make_token(instance.ctx, "writer", "write")
    async with instance.client() as client:
        assert (await client.get("/api/v1/streaming/health")).text == "OK"
        missing = await client.get("/api/v1/streaming/user")
        assert missing.status_code == 401 and "error" in missing.json()
        bad = await client.get("/api/v1/streaming/user", headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401
        scoped = await client.get("/api/v1/streaming/user", params={"access_token": write_only})
        assert scoped.status_code == 401  # Mastodon's answer for a missing scope


async def test_websocket_public_local_stream(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    token = await make_token(instance.ctx, "watcher", "read")
    await make_token(instance.ctx, "speaker", "write")
    (speaker,) = await _accounts(instance, "speaker")
    url = (
        instance.base_url.replace("http://", "ws://")
        + f"/api/v1/streaming?stream=public:local&access_token={token}"
    )
    async with websockets.connect(url) as socket:
        await post_status(instance.ctx, speaker, text="Open data portal is live")
        message = json.loads(await asyncio.wait_for(socket.recv(), 10))
    assert message["event"] == "update" and message["stream"] == ["public:local"]
    assert "Open data portal is live" in json.loads(message["payload"])["content"]


async def test_websocket_with_bad_token_is_closed(instance: RunningInstance) -> None:
    url = instance.base_url.replace("http://", "ws://") + "/api/v1/streaming?stream=user&access_token=bad"
    with pytest.raises(websockets.exceptions.WebSocketException):
        async with websockets.connect(url) as socket:
            await socket.recv()


async def test_public_stream_leaves_out_muted_authors(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    reader_token = await make_token(instance.ctx, "reader", "read write:mutes")
    await make_token(instance.ctx, "muted", "read write")
    await make_token(instance.ctx, "other", "read write")
    _reader, muted, other = await _accounts(instance, "reader", "muted", "other")
    async with instance.client() as client:
        headers = {"Authorization": f"Bearer {reader_token}"}
        assert (await client.post(f"/api/v1/accounts/{muted.id}/mute", headers=headers)).status_code == 200
        async with client.stream("GET", "/api/v1/streaming/public", headers=headers) as response:
            lines = response.aiter_lines()
            assert await anext(lines) == ":)"
            await post_status(instance.ctx, muted, text="from the muted account")
            await post_status(instance.ctx, other, text="from another account")
            event, data = await asyncio.wait_for(next_sse_event(lines), 10)
            # Events arrive in order: the first one shown is the second post, the muted one was left out.
            assert event == "update" and "from another account" in json.loads(data)["content"]


async def test_list_stream_carries_the_list_members_posts_only(instance: RunningInstance) -> None:
    """The `list` stream (WebSocket and SSE) hears new statuses of the caller's list; another's list, a
    missing `list` and a token without `read:statuses` are refused, as Mastodon refuses them."""
    assert instance.ctx is not None
    token = await make_token(instance.ctx, "owner", "read write follow")
    notifications_only = await make_token(instance.ctx, "owner", "read:notifications")
    stranger = await make_token(instance.ctx, "stranger", "read")
    for name in ("member", "other"):
        await make_token(instance.ctx, name, "write")
    owner, member, other = await _accounts(instance, "owner", "member", "other")
    for target in (member, other):
        await follow(instance.ctx, owner, target)
    async with instance.client(headers={"Authorization": f"Bearer {token}"}) as client:
        created = (await client.post("/api/v1/lists", data={"title": "members"})).json()
        response = await client.post(
            f"/api/v1/lists/{created['id']}/accounts", data={"account_ids[]": [str(member.id)]}
        )
        assert response.status_code == 200, response.text
        for params, expected in (
            ({"list": created["id"], "access_token": stranger}, 401),
            ({"access_token": token}, 400),
            ({"list": "x", "access_token": token}, 401),
            ({"list": created["id"], "access_token": notifications_only}, 401),
        ):
            refused = await client.get("/api/v1/streaming/list", params=params, headers={"Authorization": ""})
            assert refused.status_code == expected and "error" in refused.json()
        async with client.stream("GET", "/api/v1/streaming/list", params={"list": created["id"]}) as response:
            assert response.status_code == 200
            lines = response.aiter_lines()
            assert await anext(lines) == ":)"
            await post_status(instance.ctx, other, text="not for the list")
            listed = await post_status(instance.ctx, member, text="for the list")
            event, data = await asyncio.wait_for(next_sse_event(lines), 10)
            assert event == "update" and "for the list" in json.loads(data)["content"]
            assert "not for" not in json.loads(data)["content"]
            await delete_status(instance.ctx, member, listed.id)
            assert await asyncio.wait_for(next_sse_event(lines), 10) == ("delete", str(listed.id))
    url = (
        instance.base_url.replace("http://", "ws://")
        + f"/api/v1/streaming?stream=list&list={created['id']}&access_token={token}"
    )
    async with websockets.connect(url) as socket:
        await post_status(instance.ctx, member, text="on the socket")
        message = json.loads(await asyncio.wait_for(socket.recv(), 10))
    assert message["event"] == "update" and message["stream"] == ["list", created["id"]]
