"""Every Mastodon stream over both protocols, on both databases: the multiplexed WebSocket's subscribe and
unsubscribe messages and its `stream` labels, the SSE paths, the hashtag and media channels, edits and
deletions reaching where the status went, per-subscriber filtering, Mastodon's refusals."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import websockets
from PIL import Image

from clientapi.stream_hub import StreamHub
from moderation.announcements import AnnouncementRequest, publish_announcement, withdraw_announcement
from outbox.actions import delete_status, edit_status, follow, post_status
from plein.jobs import job_handlers
from storage.accounts import local_account_by_username
from storage.models import Account
from storage.worker import drain
from support.inbox_world import build_world
from support.instance import RunningInstance, make_settings, serve_in_process
from support.oauth import make_token
from support.openapi import validate_entity
from support.streams import next_message, next_sse_event, websocket_url


@pytest.fixture
async def instance(tmp_path: Path, database_url: str) -> AsyncIterator[RunningInstance]:
    async with serve_in_process(make_settings(tmp_path, database_url=database_url)) as running:
        yield running


async def _account(instance: RunningInstance, name: str) -> Account:
    assert instance.ctx is not None
    async with instance.ctx.db.read() as session:
        account = await local_account_by_username(session, name)
    assert account is not None
    return account


async def test_websocket_subscribe_and_unsubscribe_messages(instance: RunningInstance) -> None:
    """masto.js's way: one socket, `subscribe` messages, each event labelled as Mastodon labels it."""
    assert instance.ctx is not None
    token = await make_token(instance.ctx, "reader", "read")
    await make_token(instance.ctx, "speaker", "write")
    speaker = await _account(instance, "speaker")
    async with websockets.connect(websocket_url(instance.base_url, access_token=token)) as socket:
        await socket.send(json.dumps({"type": "subscribe", "stream": "public:local"}))
        await socket.send(json.dumps({"type": "subscribe", "stream": "hashtag", "tag": "Budget"}))
        # A subscription takes effect in message order: an error for a third one shows the first two are in.
        await socket.send(json.dumps({"type": "subscribe", "stream": "nonsense"}))
        assert await next_message(socket) == {"error": "Unknown stream type", "status": 400}
        await post_status(instance.ctx, speaker, text="Council #budget for 2027")
        first, second = await next_message(socket), await next_message(socket)
        labels = sorted([first["stream"], second["stream"]])
        assert labels == [["hashtag", "Budget"], ["public:local"]]
        for message in (first, second):
            assert message["event"] == "update"
            status = json.loads(message["payload"])
            validate_entity("Status", status)
            assert "Council" in status["content"]
        await socket.send(json.dumps({"type": "unsubscribe", "stream": "public:local"}))
        await socket.send(json.dumps({"type": "subscribe", "stream": "nonsense"}))
        assert (await next_message(socket))["error"] == "Unknown stream type"
        await post_status(instance.ctx, speaker, text="no tag here")
        await post_status(instance.ctx, speaker, text="second #Budget post")
        # The untagged post would come first were public:local still subscribed.
        message = await next_message(socket)
        assert (
            message["stream"] == ["hashtag", "Budget"]
            and "second" in json.loads(message["payload"])["content"]
        )


async def test_url_streams_are_labelled_as_mastodon_does(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    token = await make_token(instance.ctx, "reader", "read")
    await make_token(instance.ctx, "speaker", "write")
    speaker = await _account(instance, "speaker")
    local_url = websocket_url(instance.base_url, stream="public:local", access_token=token)
    tag_url = websocket_url(instance.base_url, stream="hashtag", tag="OpenData", access_token=token)
    async with websockets.connect(local_url) as local, websockets.connect(tag_url) as tagged:
        await post_status(instance.ctx, speaker, text="Portal live #opendata")
        assert (await next_message(local))["stream"] == ["public:local"]
        assert (await next_message(tagged))["stream"] == ["hashtag", "OpenData"]


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


async def test_sse_hashtag_and_media_channels(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    token = await make_token(instance.ctx, "reader", "read")
    speaker_token = await make_token(instance.ctx, "speaker", "read write")
    speaker = await _account(instance, "speaker")
    async with instance.client(headers={"Authorization": f"Bearer {token}"}) as client:
        paths = {
            "tag": ("/api/v1/streaming/hashtag", {"tag": "budget"}),
            "tag_local": ("/api/v1/streaming/hashtag/local", {"tag": "budget"}),
            "media": ("/api/v1/streaming/public", {"only_media": "true"}),
            "local_media": ("/api/v1/streaming/public/local", {"only_media": "1"}),
        }
        streams = {}
        for name, (path, params) in paths.items():
            response = await client.send(client.build_request("GET", path, params=params), stream=True)
            assert response.status_code == 200 and response.headers["content-type"] == "text/event-stream"
            streams[name] = response.aiter_lines()
            assert await anext(streams[name]) == ":)"
        upload = await client.post(
            "/api/v2/media",
            files={"file": ("chart.png", _png(), "image/png")},
            headers={"Authorization": f"Bearer {speaker_token}"},
        )
        assert upload.status_code in (200, 202), upload.text
        await post_status(instance.ctx, speaker, text="no tag, no media")
        await post_status(instance.ctx, speaker, text="#budget without media")
        await post_status(instance.ctx, speaker, text="a chart", media_ids=[int(upload.json()["id"])])
        for name, expected in (
            ("tag", "#budget without media"),
            ("tag_local", "#budget without media"),
            ("media", "a chart"),
            ("local_media", "a chart"),
        ):
            event, data = await asyncio.wait_for(next_sse_event(streams[name]), 10)
            assert event == "update"
            assert expected.split()[-1] in json.loads(data)["content"], name


async def test_refusals_are_mastodons(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    token = await make_token(instance.ctx, "reader", "read")
    notifications_only = await make_token(instance.ctx, "reader", "read:notifications")
    async with instance.client() as client:
        for path, params, status, error in (
            ("/api/v1/streaming/user", {}, 401, "Missing access token"),
            ("/api/v1/streaming/user", {"access_token": "nope"}, 401, "Invalid access token"),
            ("/api/v1/streaming/hashtag", {"access_token": token}, 400, "Missing tag name parameter"),
            ("/api/v1/streaming/list", {"access_token": token}, 400, "Missing list name parameter"),
            (
                "/api/v1/streaming/list",
                {"access_token": token, "list": "1"},
                401,
                "Not authorized to stream this list",
            ),
            (
                "/api/v1/streaming/public",
                {"access_token": notifications_only},
                200,
                None,
            ),  # public channels need no scope
            (
                "/api/v1/streaming/user",
                {"access_token": notifications_only},
                401,
                "Access token does not have the required scopes",
            ),
        ):
            if status == 200:
                async with client.stream("GET", path, params=params) as response:
                    assert response.status_code == 200
                continue
            response = await client.get(path, params=params)
            assert (response.status_code, response.json()) == (status, {"error": error}), path
        assert (await client.get("/api/v1/streaming/health")).text == "OK"
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        async with websockets.connect(websocket_url(instance.base_url, access_token="nope")):
            pass
    assert refused.value.response.status_code == 401
    assert json.loads(refused.value.response.body) == {"error": "Invalid access token"}
    # The token may come as the WebSocket subprotocol (browsers cannot set headers); it is echoed back.
    async with websockets.connect(
        websocket_url(instance.base_url, stream="user"), subprotocols=[websockets.Subprotocol(token)]
    ) as socket:
        assert socket.subprotocol == token
    # A refused subscription is a message; the socket stays open for the next one.
    async with websockets.connect(
        websocket_url(instance.base_url, stream="hashtag", access_token=token)
    ) as socket:
        assert await next_message(socket) == {"error": "Missing tag name parameter", "status": 400}
        await socket.send(json.dumps({"type": "subscribe", "stream": "list", "list": "12345"}))
        assert await next_message(socket) == {"error": "Not authorized to stream this list", "status": 401}
    async with websockets.connect(
        websocket_url(instance.base_url, access_token=notifications_only, stream="user")
    ) as socket:
        assert (await next_message(socket))["status"] == 401


async def test_edits_and_deletions_reach_followers_and_public_streams(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    token = await make_token(instance.ctx, "reader", "read")
    await make_token(instance.ctx, "author", "write")
    reader, author = await _account(instance, "reader"), await _account(instance, "author")
    await follow(instance.ctx, reader, author)
    user_url = websocket_url(instance.base_url, stream="user", access_token=token)
    public_url = websocket_url(instance.base_url, stream="public", access_token=token)
    async with websockets.connect(user_url) as home, websockets.connect(public_url) as public:
        status = await post_status(instance.ctx, author, text="first draft")
        for socket in (home, public):
            assert (await next_message(socket))["event"] == "update"
        await edit_status(instance.ctx, author, status.id, text="second draft")
        for socket, label in ((home, ["user"]), (public, ["public"])):
            message = await next_message(socket)
            assert (message["event"], message["stream"]) == ("status.update", label)
            assert "second draft" in json.loads(message["payload"])["content"]
        await delete_status(instance.ctx, author, status.id)
        for socket in (home, public):
            message = await next_message(socket)
            assert (message["event"], message["payload"]) == ("delete", str(status.id))


async def test_user_stream_carries_notifications_only_with_their_scope(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    statuses_only = await make_token(instance.ctx, "reader", "read:statuses")
    await make_token(instance.ctx, "author", "write")
    author = await _account(instance, "author")
    url = websocket_url(instance.base_url, stream="user", access_token=statuses_only)
    async with websockets.connect(url) as socket:
        await post_status(instance.ctx, author, text="@reader first", visibility="direct")
        await post_status(instance.ctx, author, text="@reader second", visibility="direct")
        # Each mention is an update of the reader's home; no notification comes between them.
        events = [(await next_message(socket))["event"] for _ in range(2)]
        assert events == ["update", "update"]


async def test_a_slow_consumer_is_dropped_without_holding_others_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client that stops reading fills its bounded queue and is dropped; a reading client on the same
    channel gets every event meanwhile."""
    # ~8 MB: more than the socket buffers (the kernel grows a send buffer up to 4 MB) and the queue of 8 hold
    posts, text_size = 80, 100_000
    settings = make_settings(tmp_path, **{"limits.max_status_characters": text_size + 100})
    async with serve_in_process(settings) as instance:
        assert instance.ctx is not None
        hub = StreamHub(instance.ctx, queue_size=8)
        instance.ctx.caches["clientapi.stream_hub"] = hub
        token = await make_token(instance.ctx, "reader", "read")
        await make_token(instance.ctx, "speaker", "write")
        speaker = await _account(instance, "speaker")
        host, port = instance.base_url.removeprefix("http://").split(":")
        slow = socket.socket()
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # and it never reads
        slow.setblocking(False)
        await asyncio.get_running_loop().sock_connect(slow, (host, int(port)))
        request = f"GET /api/v1/streaming/public?access_token={token} HTTP/1.1\r\nHost: {host}\r\n\r\n"
        await asyncio.get_running_loop().sock_sendall(slow, request.encode())
        try:
            async with websockets.connect(
                websocket_url(instance.base_url, stream="public", access_token=token)
            ) as fast:
                while hub.connections() < 2:  # the slow client's request is being served
                    await asyncio.sleep(0.01)
                received: list[str] = []

                async def read_all() -> None:
                    while len(received) < posts:
                        received.append(json.loads((await next_message(fast))["payload"])["content"])

                reader = asyncio.create_task(read_all())
                for index in range(posts):
                    await post_status(instance.ctx, speaker, text=f"post{index} " + "x" * text_size)
                await asyncio.wait_for(reader, 60)
                assert [content.split()[0].removeprefix("<p>") for content in received] == [
                    f"post{index}" for index in range(posts)
                ]
                # The last event was dispatched to everyone before the fast client could read it: by then the
                # slow one had overflowed and was let go.
                assert hub.connections() == 1
        finally:
            slow.close()


async def test_sse_heartbeats(instance: RunningInstance, monkeypatch: pytest.MonkeyPatch) -> None:
    assert instance.ctx is not None
    monkeypatch.setattr("clientapi.streaming.HEARTBEAT_SECONDS", 0.05)
    token = await make_token(instance.ctx, "reader", "read")
    async with instance.client() as client:
        async with client.stream("GET", "/api/v1/streaming/user", params={"access_token": token}) as response:
            lines = response.aiter_lines()
            assert await anext(lines) == ":)"
            assert await asyncio.wait_for(anext(lines), 10) == ":thump"


async def test_announcements_on_the_user_stream(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    token = await make_token(instance.ctx, "reader", "read write")
    async with (
        websockets.connect(websocket_url(instance.base_url, stream="user", access_token=token)) as user,
        websockets.connect(websocket_url(instance.base_url, stream="public", access_token=token)) as public,
    ):
        published = await publish_announcement(
            instance.ctx, AnnouncementRequest("Maintenance tonight"), actor="admin"
        )
        await drain(instance.ctx.db, job_handlers(instance.ctx))  # the event is published by its job
        message = await next_message(user)
        assert (message["stream"], message["event"]) == (["user"], "announcement")
        entity = json.loads(message["payload"])
        validate_entity("Announcement", entity)
        assert "Maintenance tonight" in entity["content"] and entity["read"] is False
        async with instance.client(headers={"Authorization": f"Bearer {token}"}) as client:
            reacted = await client.put(f"/api/v1/announcements/{published.id}/reactions/👍")
            assert reacted.status_code == 200
        message = await next_message(user)
        assert message["event"] == "announcement.reaction"
        assert json.loads(message["payload"]) == {
            "name": "👍",
            "count": 1,
            "announcement_id": str(published.id),
        }
        await withdraw_announcement(instance.ctx, published.id, actor="admin")
        await drain(instance.ctx.db, job_handlers(instance.ctx))
        message = await next_message(user)
        assert (message["event"], message["payload"]) == ("announcement.delete", str(published.id))
        # The public stream carries none of it: the next thing it hears is a post.
        speaker = await _account(instance, "reader")
        await post_status(instance.ctx, speaker, text="after the announcement")
        assert (await next_message(public))["event"] == "update"


async def test_local_and_remote_channels_tell_statuses_apart(tmp_path: Path) -> None:
    """A status received through the inbox is on `public:remote` and `hashtag`, never on `public:local` or
    `hashtag:local`; a local one the other way round."""
    async for world in build_world(tmp_path):
        await world.follow_locally(world.alice, world.ann)  # so the remote post is not unsolicited
        token = await make_token(world.ctx, "alice", "read write")
        base = world.instance.base_url
        urls = {
            "local": websocket_url(base, stream="public:local", access_token=token),
            "remote": websocket_url(base, stream="public:remote", access_token=token),
            "tag": websocket_url(base, stream="hashtag", tag="budget", access_token=token),
            "tag_local": websocket_url(base, stream="hashtag:local", tag="budget", access_token=token),
        }
        async with contextlib.AsyncExitStack() as stack:
            sockets = {
                name: await stack.enter_async_context(websockets.connect(url)) for name, url in urls.items()
            }

            async def first(name: str, sockets: dict[str, Any] = sockets) -> str:
                return json.loads((await next_message(sockets[name]))["payload"])["content"]

            await post_status(world.ctx, world.alice, text="#budget local one")
            note = world.ann.note(
                '<p>from afar <a href="https://x/tags/budget">#budget</a></p>',
                tag=[{"type": "Hashtag", "href": "https://x/tags/budget", "name": "#budget"}],
            )
            assert (await world.deliver(world.ann.activity("Create", note), world.ann)).status_code == 202
            await world.drain()
            await post_status(world.ctx, world.alice, text="#budget local two")
            assert "local one" in await first("local") and "local two" in await first("local")
            assert "local one" in await first("tag_local") and "local two" in await first("tag_local")
            assert "from afar" in await first("remote")
            heard = [await first("tag") for _ in range(3)]
            assert ["local one" in heard[0], "from afar" in heard[1], "local two" in heard[2]] == [True] * 3
            # The remote author edits, then deletes: both reach the channels the status is on.
            edited = {
                **note,
                "content": "<p>from afar, edited #budget</p>",
                "updated": "2024-01-02T00:00:00Z",
            }
            assert (await world.deliver(world.ann.activity("Update", edited), world.ann)).status_code == 202
            assert (
                await world.deliver(world.ann.activity("Delete", note["id"]), world.ann)
            ).status_code == 202
            await world.drain()
            update = await next_message(sockets["remote"])
            assert update["event"] == "status.update" and "edited" in json.loads(update["payload"])["content"]
            deletion = await next_message(sockets["remote"])
            assert (deletion["event"], deletion["payload"]) == ("delete", json.loads(update["payload"])["id"])
