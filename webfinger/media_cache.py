"""Fetching our copies of remote attachments (the rules are in `storage.media_cache`): the `remote_media`
queue's handler, and the on-demand fetch of `/media_proxy/…` (web.media) when no copy is stored.

Fetched through the federation client (SSRF guard, the outbound gate, redirects re-checked, time limit, size
cap). A fetch that fails leaves no copy and logs why; the proxy URL stays shown and tries again when viewed.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from apub.errors import FetchError
from storage.context import Context
from storage.images import ImageRejected, ProcessedImage, process_image, sniff_format
from storage.media import (
    ORIGINAL,
    image_meta,
    media_root,
    remove_media_files,
    write_file_folder,
    write_media_files,
)
from storage.media_cache import is_cacheable, remove_pruned_files, sniff_audio_video
from storage.models import Account, MediaAttachment, Status
from storage.queue import ClaimedJob
from storage.types import utcnow
from webfinger.fetch import federation_client
from webfinger.resolve import domain_policy

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Copy:
    """A fetched file ready to store: the cleaned image, or a video/audio file as it came."""

    image: ProcessedImage | None
    content: bytes
    content_type: str
    extension: str


async def _may_fetch(ctx: Context, session: AsyncSession, media: MediaAttachment) -> bool:
    """A remote attachment of a live status whose author's host we take media from."""
    if not is_cacheable(media) or media.status_id is None:
        return False
    status = await session.get(Status, media.status_id)
    author = await session.get(Account, media.account_id)
    if status is None or status.deleted_at is not None or author is None or author.domain is None:
        return False
    policy = await domain_policy(ctx, session, author.domain)
    return not (policy.reject_media or policy.suspended or not policy.allowed)


def _read_copy(body: bytes, *, video_limit: int) -> _Copy | None:
    """Clean an image or check a video/audio file (CPU work: run in a thread); None for anything else."""
    if sniff_format(body) is not None:
        try:
            image = process_image(body)
        except ImageRejected:
            return None
        kind = image.image_format
        return _Copy(image=image, content=b"", content_type=kind.content_type, extension=kind.extension)
    sniffed = sniff_audio_video(body)
    if sniffed is None or len(body) > video_limit:
        return None
    return _Copy(image=None, content=body, content_type=sniffed[0], extension=sniffed[1])


async def _fetch_copy(ctx: Context, media: MediaAttachment) -> _Copy | None:
    url = media.remote_url
    assert url is not None
    limits = ctx.settings.limits
    video_limit = ctx.settings.media.remote_video_max_bytes
    cap = max(limits.max_media_bytes, video_limit) if media.media_type in ("video", "gifv", "audio") else None
    try:
        response = await federation_client(ctx).get(
            url, headers={"Accept": "*/*"}, max_bytes=cap or limits.max_media_bytes
        )
    except FetchError as error:
        logger.info("attachment %d (%s) not cached: %s", media.id, url, error)
        return None
    if response.status_code != 200:
        logger.info("attachment %d (%s) not cached: HTTP %d", media.id, url, response.status_code)
        return None
    copy = await anyio.to_thread.run_sync(
        functools.partial(_read_copy, response.body, video_limit=video_limit)
    )
    if copy is None:
        logger.info("attachment %d (%s) not cached: not an image, video or audio file we keep", media.id, url)
    return copy


def _write(ctx: Context, media_id: int, copy: _Copy) -> str:
    root = media_root(ctx.settings.server.data_dir)
    if copy.image is not None:
        return write_media_files(root, media_id, copy.image)
    name = f"{ORIGINAL}.{copy.extension}"
    return f"{write_file_folder(root, media_id, {name: copy.content})}/{name}"


def _record(media: MediaAttachment, file_path: str, copy: _Copy) -> None:
    media.file_path = file_path
    media.content_type = copy.content_type
    media.cached_at = utcnow()
    if copy.image is not None:
        meta: dict[str, Any] = media.meta if isinstance(media.meta, dict) else {}
        # A new dict: the JSON column only notices assignment. The remote focus point is kept.
        media.meta = {**meta, **image_meta(copy.image, None)}
        media.blurhash = copy.image.blurhash or media.blurhash


async def cache_attachment(ctx: Context, media_id: int) -> MediaAttachment | None:
    """Our copy of the remote attachment `media_id`, fetched and stored now if there is none; None when
    there is none and cannot be (a type or host we do not copy, a failed fetch)."""
    async with ctx.db.read() as session:
        media = await session.get(MediaAttachment, media_id)
        if media is None or media.file_path is not None:
            return media if media is not None and media.file_path is not None else None
        if not await _may_fetch(ctx, session, media):
            return None
    copy = await _fetch_copy(ctx, media)
    if copy is None:
        return None
    file_path = await anyio.to_thread.run_sync(_write, ctx, media_id, copy)
    async with ctx.db.transaction() as session:
        row = await session.get(MediaAttachment, media_id)
        fresh = row is not None and row.file_path is None and row.remote_url == media.remote_url
        if row is not None and fresh:
            _record(row, file_path, copy)
    if not fresh:  # stored meanwhile by another fetch, or the row changed or went: ours is not needed
        await anyio.to_thread.run_sync(
            remove_media_files, media_root(ctx.settings.server.data_dir), file_path
        )
    return row if row is not None and row.file_path is not None else None


def remote_media_handler(ctx: Context) -> Callable[[ClaimedJob], Awaitable[None]]:
    """The `remote_media` queue's handler: fetch the listed attachments, or delete files whose rows went."""

    async def handle(job: ClaimedJob) -> None:
        paths = job.payload.get("remove_files")
        if isinstance(paths, list):
            data_dir = ctx.settings.server.data_dir
            await anyio.to_thread.run_sync(
                remove_pruned_files, data_dir, [p for p in paths if isinstance(p, str)]
            )
            return
        for media_id in job.payload.get("media_ids") or []:
            if isinstance(media_id, int):
                await cache_attachment(ctx, media_id)

    return handle
