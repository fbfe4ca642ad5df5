"""Streaming with a real client: Mastodon.py's SSE streams (`stream_hashtag`, `stream_user`) and its
multiplexed WebSocket (`stream_open_websocket`, then `stream_local` and `stream_hashtag` on that one socket,
which route each event to its listener by the `stream` label) against a live Plein."""

from __future__ import annotations

import asyncio
import queue
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mastodon import Mastodon, StreamListener

from clientapi.stream_hub import stream_hub
from outbox.actions import follow, post_status
from storage.accounts import local_account_by_username
from support.instance import RunningInstance, make_settings, serve_in_process
from support.oauth import make_token


@pytest.fixture
async def instance(tmp_path: Path) -> AsyncIterator[RunningInstance]:
    async with serve_in_process(make_settings(tmp_path)) as running:
        yield running


class Collecting(StreamListener):  # type: ignore[misc]
    """Puts (listener name, event, content or id) on a thread-safe queue."""

    def __init__(self, name: str, heard: queue.Queue[tuple[str, str, str]]) -> None:
        super().__init__()
        self.name, self.heard = name, heard

    def on_update(self, status: Any) -> None:
        self.heard.put((self.name, "update", status["content"]))

    def on_notification(self, notification: Any) -> None:
        self.heard.put((self.name, "notification", notification["type"]))


async def _hear(heard: queue.Queue[tuple[str, str, str]], count: int) -> list[tuple[str, str, str]]:
    return [await asyncio.to_thread(heard.get, timeout=20) for _ in range(count)]


async def _subscribed(instance: RunningInstance, count: int) -> None:
    """Wait until the server holds `count` subscriptions (a subscribe message has no answer)."""
    assert instance.ctx is not None
    while stream_hub(instance.ctx).subscriptions() < count:
        await asyncio.sleep(0.02)


async def test_mastodon_py_streams_over_sse_and_one_websocket(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    token = await make_token(instance.ctx, "reader", "read")
    await make_token(instance.ctx, "speaker", "write")
    async with instance.ctx.db.read() as session:
        reader = await local_account_by_username(session, "reader")
        speaker = await local_account_by_username(session, "speaker")
    assert reader is not None and speaker is not None
    await follow(instance.ctx, reader, speaker)
    client = Mastodon(access_token=token, api_base_url=instance.base_url)
    assert await asyncio.to_thread(client.stream_healthy)
    heard: queue.Queue[tuple[str, str, str]] = queue.Queue()
    handles = [
        await asyncio.to_thread(
            client.stream_hashtag, "budget", Collecting("sse-tag", heard), run_async=True
        ),
        await asyncio.to_thread(client.stream_user, Collecting("sse-user", heard), run_async=True),
    ]
    socket = await asyncio.to_thread(client.stream_open_websocket, Collecting("ws-default", heard))
    handles.append(socket)
    try:
        await asyncio.to_thread(client.stream_local, Collecting("ws-local", heard), websocket_handle=socket)
        await asyncio.to_thread(
            client.stream_hashtag, "Budget", Collecting("ws-tag", heard), websocket_handle=socket
        )
        await _subscribed(instance, 4)
        await post_status(instance.ctx, speaker, text="Vote on the #budget, @reader")
        events = await _hear(heard, 5)
        assert sorted((name, event) for name, event, _ in events) == [
            ("sse-tag", "update"),
            ("sse-user", "notification"),
            ("sse-user", "update"),
            ("ws-local", "update"),
            ("ws-tag", "update"),
        ]  # nothing fell through to the socket's default listener: every label matched its subscription
        assert all("Vote on the" in text for _, event, text in events if event == "update")
    finally:
        for handle in handles:
            await asyncio.to_thread(handle.close)
