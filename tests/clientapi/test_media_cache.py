"""Remote attachments served from our own copies (storage.media_cache, webfinger.media_cache), through the
real endpoints of two instances: the proxy URL before the `remote_media` job ran (fetched on demand), our copy
after it, `remote_url` theirs; pruning (`plein media prune`) keeps what local readers saved and the proxy
fetches a pruned copy again; a host whose media are rejected loses our copies."""

from __future__ import annotations

import argparse
import io
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from checked import call
from PIL import Image
from sqlalchemy import select, update
from test_media import png_bytes, upload

from moderation import block_domain
from outbox.actions import follow
from plein.jobs import job_handlers
from plein.media_commands import media_command
from storage.media import media_root
from storage.media_cache import REMOTE_MEDIA_QUEUE
from storage.models import MediaAttachment
from storage.types import utcnow
from storage.worker import drain
from support.databases import sqlite_url
from support.federation import Instance, settle
from support.instance import make_settings, serve_in_process
from support.oauth import bearer, make_token
from support.openapi import validate_entity
from webfinger.media_cache import _read_copy


@pytest.fixture
async def publisher_and_reader(tmp_path: Path, database_url: str) -> AsyncIterator[tuple[Instance, Instance]]:
    """A (SQLite) whose alice posts images, B (on each backend) whose bob follows her."""
    async with AsyncExitStack() as stack:
        a = Instance(
            await stack.enter_async_context(
                serve_in_process(make_settings(tmp_path / "a", database_url=sqlite_url(str(tmp_path / "a"))))
            )
        )
        b = Instance(
            await stack.enter_async_context(
                serve_in_process(make_settings(tmp_path / "b", database_url=database_url))
            )
        )
        alice, bob = await a.local("alice"), await b.local("bob")
        await follow(b.ctx, bob, await b.resolve(alice, a))
        await settle(a, b)
        yield a, b


async def _post_images(a: Instance, text: str, count: int) -> list[dict[str, Any]]:
    async with a.running.client(headers=bearer(await make_token(a.ctx, "alice"))) as client:
        media = [await upload(client, png_bytes()) for _ in range(count)]
        await call(
            client, "POST", "/api/v1/statuses", json={"status": text, "media_ids": [m["id"] for m in media]}
        )
    return media


async def _deliver_without_caching(a: Instance, b: Instance) -> None:
    """Deliver A's posts and receive them on B, leaving B's `remote_media` jobs waiting."""
    for _ in range(3):
        await drain(a.ctx.db, job_handlers(a.ctx))
        handlers = {queue: run for queue, run in job_handlers(b.ctx).items() if queue != REMOTE_MEDIA_QUEUE}
        await drain(b.ctx.db, handlers)


async def _home(b: Instance, reader: httpx.AsyncClient) -> dict[str, list[dict[str, Any]]]:
    """Bob's home timeline: status text → its attachments."""
    timeline = await call(reader, "GET", "/api/v1/timelines/home")
    return {status["content"]: status["media_attachments"] for status in timeline}


def _is_png(content: bytes, size: tuple[int, int]) -> bool:
    return Image.open(io.BytesIO(content)).size == size


async def test_remote_attachments_are_served_from_our_copies(
    publisher_and_reader: tuple[Instance, Instance],
) -> None:
    a, b = publisher_and_reader
    theirs = await _post_images(a, "two letters", 2)
    await _deliver_without_caching(a, b)
    base = b.running.base_url
    async with b.running.client(headers=bearer(await make_token(b.ctx, "bob"))) as reader:
        # Before the job ran: our proxy URLs, the remote file as remote_url only.
        seen = (await _home(b, reader))["<p>two letters</p>"]
        for attachment, original in zip(seen, theirs, strict=True):
            validate_entity("MediaAttachment", attachment, all_properties=True)
            assert attachment["url"].startswith(f"{base}/media_proxy/")
            assert attachment["preview_url"].startswith(f"{base}/media_proxy/")
            assert attachment["remote_url"] == original["url"]
        # Viewing one fetches it on demand and redirects to our copy.
        proxied = await reader.get(seen[0]["url"])
        assert proxied.status_code == 302 and proxied.headers["location"].startswith(f"{base}/media/")
        copy = await reader.get(proxied.headers["location"])
        assert copy.status_code == 200 and copy.headers["content-type"] == "image/png"
        assert _is_png(copy.content, (640, 480))
        small = await reader.get(seen[0]["preview_url"], follow_redirects=True)
        assert small.status_code == 200 and Image.open(io.BytesIO(small.content)).width <= 400
        # A forged key is refused, and nothing is fetched for it.
        forged = seen[1]["url"].replace("_", "_0", 1)[:-1]
        assert (await reader.get(forged)).status_code == 404

        await settle(a, b)  # the job copies the other one; the first is not fetched twice
        cached = (await _home(b, reader))["<p>two letters</p>"]
        assert cached[0]["url"] == proxied.headers["location"]
        for attachment, original in zip(cached, theirs, strict=True):
            assert attachment["url"].startswith(f"{base}/media/")
            assert attachment["preview_url"].startswith(f"{base}/media/")
            assert attachment["remote_url"] == original["url"]
            assert attachment["meta"]["original"]["width"] == 640
            assert (await reader.get(attachment["url"])).status_code == 200
        async with b.ctx.db.read() as session:
            rows = list(
                (
                    await session.execute(
                        select(MediaAttachment).where(MediaAttachment.remote_url.is_not(None))
                    )
                ).scalars()
            )
        assert len(rows) == 2 and all(row.cached_at is not None and row.file_path for row in rows)


async def test_prune_keeps_saved_copies_and_fetches_pruned_ones_again(
    publisher_and_reader: tuple[Instance, Instance],
) -> None:
    a, b = publisher_and_reader
    await _post_images(a, "old news", 1)
    await _post_images(a, "kept", 1)
    await settle(a, b)
    base = b.running.base_url
    async with b.running.client(headers=bearer(await make_token(b.ctx, "bob"))) as reader:
        timeline = await call(reader, "GET", "/api/v1/timelines/home")
        by_text = {status["content"]: status for status in timeline}
        await call(reader, "POST", f"/api/v1/statuses/{by_text['<p>kept</p>']['id']}/bookmark")
        old_url = by_text["<p>old news</p>"]["media_attachments"][0]["url"]
        kept_url = by_text["<p>kept</p>"]["media_attachments"][0]["url"]
        old_file = media_root(b.running.settings.server.data_dir) / old_url.split("/media/", 1)[1]
        assert old_file.is_file()

        async with b.ctx.db.transaction() as session:
            await session.execute(update(MediaAttachment).values(cached_at=utcnow() - timedelta(days=8)))
        # A dry run changes nothing; then the copy goes, the bookmarked one stays.
        assert await media_command(b.ctx, argparse.Namespace(days=None, dry_run=True)) == 0
        assert old_file.is_file()
        assert await media_command(b.ctx, argparse.Namespace(days=None, dry_run=False)) == 0
        assert not old_file.exists() and not old_file.parent.exists()
        assert (await reader.get(old_url)).status_code == 404
        assert (await reader.get(kept_url)).status_code == 200

        # Shown through the proxy again, which fetches a new copy when viewed.
        seen = (await _home(b, reader))["<p>old news</p>"][0]
        assert seen["url"].startswith(f"{base}/media_proxy/")
        again = await reader.get(seen["url"], follow_redirects=True)
        assert again.status_code == 200 and _is_png(again.content, (640, 480))
        assert (await _home(b, reader))["<p>kept</p>"][0]["url"] == kept_url


async def test_rejected_media_hosts_lose_our_copies_and_are_not_fetched(
    publisher_and_reader: tuple[Instance, Instance],
) -> None:
    a, b = publisher_and_reader
    await _post_images(a, "before", 1)
    await settle(a, b)
    async with b.running.client(headers=bearer(await make_token(b.ctx, "bob"))) as reader:
        url = (await _home(b, reader))["<p>before</p>"][0]["url"]
        copy = media_root(b.running.settings.server.data_dir) / url.split("/media/", 1)[1]
        assert copy.is_file()
        await block_domain(b.ctx, a.domain, actor="test", severity="noop", reject_media=True)
        await settle(b)
        assert not copy.exists()
        assert (await reader.get(url)).status_code == 404
        await _post_images(a, "after", 1)
        await settle(a, b)
        assert (await _home(b, reader))["<p>after</p>"] == []
    async with b.ctx.db.read() as session:
        assert list((await session.execute(select(MediaAttachment.file_path))).scalars()) == []


def _mp4(size: int) -> bytes:
    box = (24).to_bytes(4, "big") + b"ftypisom" + b"\x00\x00\x02\x00" + b"isomiso2"
    return box + b"\x00" * (size - len(box))


def test_videos_are_kept_as_they_came_within_their_cap_and_other_files_stay_remote() -> None:
    video = _read_copy(_mp4(4096), video_limit=10_000)
    assert video is not None and (video.content_type, video.extension, video.image) == (
        "video/mp4",
        "mp4",
        None,
    )
    assert _read_copy(_mp4(20_000), video_limit=10_000) is None  # over media.remote_video_max_bytes
    assert _read_copy(b"%PDF-1.7\n" + b"\x00" * 100, video_limit=10_000) is None
    image = _read_copy(png_bytes(), video_limit=0)
    assert image is not None and image.image is not None and image.content_type == "image/png"


async def test_copies_leave_with_a_deleted_status_and_a_suspended_host(
    publisher_and_reader: tuple[Instance, Instance],
) -> None:
    a, b = publisher_and_reader
    await _post_images(a, "withdrawn", 1)
    await _post_images(a, "purged", 1)
    await settle(a, b)
    root = media_root(b.running.settings.server.data_dir)
    async with b.running.client(headers=bearer(await make_token(b.ctx, "bob"))) as reader:
        home = await _home(b, reader)
        copies = {
            text: root / home[f"<p>{text}</p>"][0]["url"].split("/media/", 1)[1]
            for text in ("withdrawn", "purged")
        }
        assert all(copy.is_file() for copy in copies.values())
        async with a.running.client(headers=bearer(await make_token(a.ctx, "alice"))) as author:
            [status] = [
                s
                for s in await call(author, "GET", "/api/v1/timelines/home")
                if s["content"] == "<p>withdrawn</p>"
            ]
            await call(author, "DELETE", f"/api/v1/statuses/{status['id']}")
        await settle(a, b)
        assert not copies["withdrawn"].exists()  # out of the public folder, as a local status's media
        assert copies["purged"].is_file()
        await block_domain(b.ctx, a.domain, actor="test", severity="suspend")
        await settle(b)
        assert not copies["purged"].exists()
