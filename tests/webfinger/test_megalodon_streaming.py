"""megalodon's own streaming client (npm, run by Node.js from tests/megalodon/) against a live Plein: its tag
stream (`?stream=hashtag&tag=…`, which Plein used to close during the handshake) and its local stream, each
on its own WebSocket, receive a post."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from outbox.actions import post_status
from peers.fedify import ensure_fedify_installed
from storage.accounts import local_account_by_username
from support.instance import RunningInstance, make_settings, serve_in_process
from support.oauth import make_token

MEGALODON_DIR = Path(__file__).resolve().parent.parent / "megalodon"


@pytest.fixture
async def instance(tmp_path: Path) -> AsyncIterator[RunningInstance]:
    async with serve_in_process(make_settings(tmp_path)) as running:
        yield running


async def test_megalodon_tag_and_local_streams(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    ensure_fedify_installed(MEGALODON_DIR)  # `npm ci` on first use, as for the Fedify peer
    token = await make_token(instance.ctx, "reader", "read")
    await make_token(instance.ctx, "speaker", "write")
    async with instance.ctx.db.read() as session:
        speaker = await local_account_by_username(session, "speaker")
    assert speaker is not None
    child = await asyncio.create_subprocess_exec(
        shutil.which("node") or "node",
        "stream.mjs",
        instance.base_url,
        token,
        "OpenData",
        cwd=MEGALODON_DIR,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        first = await asyncio.wait_for(child.stdout.readline(), 30)  # a bound for a hung child only
        assert first.decode().strip() == "connected", first
        await post_status(instance.ctx, speaker, text="The portal is live #opendata")
        lines = sorted([(await asyncio.wait_for(child.stdout.readline(), 30)).decode() for _ in range(2)])
        assert [line.split(" ", 1)[0] for line in lines] == ["local", "tag"]
        assert all("The portal is live" in line for line in lines)
        assert await asyncio.wait_for(child.wait(), 30) == 0
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
