"""masto.js's own streaming client (npm, run by Node.js from tests/mastojs/) against a live Plein: one
WebSocket, the token as its subprotocol, `subscribe` messages for `public:local` and a hashtag. masto.js
routes each event to a subscription by its `stream` label, so an update reaching both proves the labels are
Mastodon's (`["public:local"]`, `["hashtag", tag]`)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from clientapi.stream_hub import stream_hub
from outbox.actions import post_status
from peers.fedify import ensure_fedify_installed
from storage.accounts import local_account_by_username
from support.instance import RunningInstance, make_settings, serve_in_process
from support.oauth import make_token

MASTOJS_DIR = Path(__file__).resolve().parent.parent / "mastojs"


@pytest.fixture
async def instance(tmp_path: Path) -> AsyncIterator[RunningInstance]:
    async with serve_in_process(make_settings(tmp_path)) as running:
        yield running


async def test_mastojs_subscribes_over_one_websocket(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    ensure_fedify_installed(MASTOJS_DIR)  # `npm ci` on first use, as for the Fedify peer
    token = await make_token(instance.ctx, "reader", "read")
    await make_token(instance.ctx, "speaker", "write")
    async with instance.ctx.db.read() as session:
        speaker = await local_account_by_username(session, "speaker")
    assert speaker is not None
    streaming_url = instance.base_url.replace("http://", "ws://")
    child = await asyncio.create_subprocess_exec(
        shutil.which("node") or "node",
        "stream.mjs",
        streaming_url,
        token,
        "Budget",
        cwd=MASTOJS_DIR,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        while stream_hub(instance.ctx).subscriptions() < 2:  # subscribe messages have no answer
            assert child.returncode is None, await child.stderr.read() if child.stderr else b""
            await asyncio.sleep(0.05)
        await post_status(instance.ctx, speaker, text="Council #budget for 2027")
        assert child.stdout is not None
        lines = sorted([(await asyncio.wait_for(child.stdout.readline(), 30)).decode() for _ in range(2)])
        assert [line.split(" ", 1)[0] for line in lines] == ["local", "tag"], lines
        assert all("Council" in line for line in lines)
        assert await asyncio.wait_for(child.wait(), 30) == 0
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
