"""megalodon's own `detector()` (npm, run by Node.js from tests/megalodon/) against a live Plein: client apps
built on megalodon must recognise Plein as a server speaking the Mastodon API, while NodeInfo still says
the software is Plein."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from peers.fedify import ensure_fedify_installed
from support.databases import sqlite_url
from support.instance import RunningInstance, make_settings, serve_in_process

MEGALODON_DIR = Path(__file__).resolve().parent.parent / "megalodon"


@pytest.fixture
async def instance(tmp_path: Path) -> AsyncIterator[RunningInstance]:
    settings = make_settings(tmp_path, database_url=sqlite_url(str(tmp_path)))
    async with serve_in_process(settings) as running:
        yield running


async def _detect(base_url: str) -> str:
    """What megalodon's detector() says of `base_url` (run as a child, so this loop keeps serving)."""
    ensure_fedify_installed(MEGALODON_DIR)  # `npm ci` on first use, as for the Fedify peer
    child = await asyncio.create_subprocess_exec(
        shutil.which("node") or "node",
        "detect.mjs",
        base_url,
        cwd=MEGALODON_DIR,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await child.communicate()
    assert child.returncode == 0, stderr.decode()
    return stdout.decode().strip()


async def test_megalodon_detects_a_mastodon_compatible_server(instance: RunningInstance) -> None:
    assert await _detect(instance.base_url) == "mastodon"
    async with instance.client() as client:
        nodeinfo = (await client.get("/nodeinfo/2.1")).json()
        version = (await client.get("/api/v1/instance")).json()["version"]
    assert nodeinfo["software"]["name"] == "plein"  # not claiming to be Mastodon
    assert nodeinfo["metadata"]["upstream"] == {"name": "mastodon", "version": "4.3.0"}
    assert version.startswith("4.3.0 (compatible; Plein ")


async def test_megalodon_refuses_what_is_not_a_server() -> None:
    # Control: the detector does refuse; it is not answering "mastodon" whatever it is given.
    assert (await _detect("http://127.0.0.1:9")).startswith("error: ")
