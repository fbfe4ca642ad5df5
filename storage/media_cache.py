"""Our copies of remote attachments: which are kept, how their files are named and served, when they go.

As Mastodon's `media_cache`: the attachments of a received status are fetched by a `remote_media` job queued
in the transaction that stores the status (the fetch itself is `webfinger.media_cache`, which goes through
the federation client), so readers' apps load them from this server and never from the remote one:

- images are re-encoded as uploads are (`storage.images`: no metadata, a preview, our blurhash), up to
  `limits.max_media_bytes`;
- videos and audio are stored as they came when their bytes are one of the containers in `AUDIO_VIDEO`
  and they are at most `media.remote_video_max_bytes`; with no preview (Plein decodes no video);
- anything else (Mastodon's "unknown" attachments, a larger video) stays a link to the remote file, as
  Mastodon leaves the types it does not support.

Until a copy is stored (the job has not run, the fetch failed, or the copy was pruned), the client API shows
our `/media_proxy/<id>_<key>/<variant>` URL (Mastodon's `media_proxy_url` of an attachment that needs a
download): a request for it fetches and stores the file there and then, and redirects to the copy. The key
is an HMAC of the row id under the instance's secret, so proxy URLs cannot be guessed by counting ids, as
the folder secret of a stored file cannot. A host whose media the moderators reject is never fetched from.

Copies older than `media.remote_cache_days` are deleted by the hourly maintenance run and `plein media
prune` (Mastodon's media cache retention and `tootctl media remove`); unlike Mastodon, the copies of statuses
a local account bookmarked, favourited or pinned are kept, so what a reader saved stays readable when the
remote server is gone. A pruned attachment shows the proxy URL again and is fetched again when viewed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import filetype
from sqlalchemy import ColumnElement, and_, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.ids import parse_id
from storage.media import ORIGINAL, PROFILE_IMAGE_SIZES, SMALL, media_root, remove_media_files
from storage.models import Account, Bookmark, Favourite, MediaAttachment, StatusPin
from storage.queue import enqueue_many, job_row

REMOTE_MEDIA_QUEUE = "remote_media"
PROXY_PATH = "media_proxy"
# The attachment types Plein copies; "unknown" (a PDF, a link) stays remote, as in Mastodon.
CACHED_TYPES = frozenset({"image", "gifv", "video", "audio"})
# Containers stored as they came, by the MIME type sniffed from their bytes → the stored file's extension.
AUDIO_VIDEO = {
    "video/mp4": "mp4",
    "video/x-m4v": "mp4",
    "video/webm": "webm",
    "video/quicktime": "mov",
    "audio/mpeg": "mp3",
    "audio/mp4": "m4a",
    "audio/ogg": "ogg",
    "audio/x-flac": "flac",
    "audio/x-wav": "wav",
    "audio/aac": "aac",
}
_PROXY_FOLDER = re.compile(r"^([0-9]{1,19})_([0-9a-f]{32})$")


def cache_job_rows(media_ids_by_status: Iterable[tuple[int, Sequence[int]]]) -> list[dict[str, Any]]:
    """The `remote_media` jobs of received statuses' attachments (one per status with any), for the
    transaction that stores them."""
    return [
        job_row(REMOTE_MEDIA_QUEUE, {"media_ids": list(media_ids)}, dedupe_key=f"cache {status_id}")
        for status_id, media_ids in media_ids_by_status
        if media_ids
    ]


async def enqueue_caching(session: AsyncSession, status_id: int, media_ids: Sequence[int]) -> None:
    """Queue fetching the attachments `media_ids` of the received status `status_id` (an edit's new ones);
    the dedupe key carries the ids, as an edit's job must not be taken for the first one."""
    if media_ids:
        row = job_row(
            REMOTE_MEDIA_QUEUE,
            {"media_ids": list(media_ids)},
            dedupe_key=f"cache {status_id} {min(media_ids)}",
        )
        await enqueue_many(session, [row])


def sniff_audio_video(data: bytes) -> tuple[str, str] | None:
    """(content type, extension) of a video or audio file in a container Plein stores, else None."""
    kind = filetype.guess(data[:8192])
    if kind is None or kind.mime not in AUDIO_VIDEO:
        return None
    return kind.mime, AUDIO_VIDEO[kind.mime]


def proxy_key(secret_key: str, media_id: int) -> str:
    """The key of an attachment's proxy URL: 128 bits of an HMAC of its id under the instance's secret."""
    digest = hmac.new(secret_key.encode(), f"{PROXY_PATH} {media_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def proxy_url(base_url: str, secret_key: str, media_id: int, variant: str) -> str:
    """Where a remote attachment is served while we hold no copy: fetched, stored and redirected to."""
    return f"{base_url}/{PROXY_PATH}/{media_id}_{proxy_key(secret_key, media_id)}/{variant}"


def parse_proxy_path(secret_key: str, folder: str, variant: str) -> int | None:
    """The media id of a requested proxy path when its key is right (compared in constant time)."""
    match = _PROXY_FOLDER.match(folder)
    media_id = parse_id(match[1]) if match is not None else None
    if match is None or media_id is None or variant not in (ORIGINAL, SMALL):
        return None
    return media_id if hmac.compare_digest(match[2], proxy_key(secret_key, media_id)) else None


def is_cacheable(media: MediaAttachment) -> bool:
    """Whether the row is a remote attachment of a type Plein copies."""
    return media.remote_url is not None and media.media_type in CACHED_TYPES


@dataclass(frozen=True)
class PruneOutcome:
    """What a prune removed (or, dry, would remove): how many copies and how many bytes."""

    copies: int
    bytes: int
    paths: list[str]


def _saved_by_local_readers() -> ColumnElement[bool]:
    """A condition on MediaAttachment: its status is bookmarked, favourited or pinned by a local account."""
    local = select(Account.id).where(Account.domain.is_(None))
    return (
        exists().where(
            Bookmark.status_id == MediaAttachment.status_id, Bookmark.account_id.in_(local.scalar_subquery())
        )
        | exists().where(
            Favourite.status_id == MediaAttachment.status_id,
            Favourite.account_id.in_(local.scalar_subquery()),
        )
        | exists().where(StatusPin.status_id == MediaAttachment.status_id)
    )


def _prunable(cutoff: datetime) -> ColumnElement[bool]:
    return and_(
        MediaAttachment.cached_at < cutoff,
        MediaAttachment.file_path.is_not(None),
        MediaAttachment.remote_url.is_not(None),
        MediaAttachment.media_type.not_in(tuple(PROFILE_IMAGE_SIZES)),
        ~_saved_by_local_readers(),
    )


def _folder_size(root: Path, file_path: str) -> int:
    folder = root / file_path.rpartition("/")[0]
    return sum(item.stat().st_size for item in folder.iterdir() if item.is_file()) if folder.is_dir() else 0


async def prune_remote_media(
    session: AsyncSession, *, data_dir: Path, now: datetime, days: int, dry_run: bool = False
) -> PruneOutcome:
    """Forget our copies of remote attachments fetched more than `days` ago (see the module docstring);
    returns what went, with the paths for `remove_pruned_files` once the transaction has committed."""
    cutoff = now - timedelta(days=days)
    rows = list(
        await session.execute(select(MediaAttachment.id, MediaAttachment.file_path).where(_prunable(cutoff)))
    )
    root = media_root(data_dir)
    paths = [path for _, path in rows if path]
    size = sum(_folder_size(root, path) for path in paths)
    if rows and not dry_run:
        await session.execute(
            update(MediaAttachment)
            .where(MediaAttachment.id.in_([media_id for media_id, _ in rows]))
            .values(file_path=None, cached_at=None)
            .execution_options(synchronize_session=False)
        )
    return PruneOutcome(copies=len(rows), bytes=size, paths=[] if dry_run else paths)


def remove_pruned_files(data_dir: Path, paths: Iterable[str]) -> None:
    """Delete the folders of pruned copies. Blocking file I/O: call it in a thread."""
    for path in paths:
        remove_media_files(media_root(data_dir), path)


async def forget_copies(session: AsyncSession, media: ColumnElement[bool]) -> None:
    """In the transaction that deletes the remote attachments matching `media` (a condition on
    MediaAttachment): have our copies' files deleted once it commits."""
    paths = list(
        (
            await session.execute(
                select(MediaAttachment.file_path).where(
                    media,
                    MediaAttachment.file_path.is_not(None),
                    MediaAttachment.remote_url.is_not(None),
                    MediaAttachment.media_type.not_in(tuple(PROFILE_IMAGE_SIZES)),
                )
            )
        ).scalars()
    )
    await queue_file_removal(session, paths)


async def queue_file_removal(session: AsyncSession, paths: Sequence[str | None]) -> None:
    """In the transaction that deletes rows of copies: have their files (`paths`) deleted once it commits."""
    wanted = [path for path in paths if path]
    if wanted:
        await enqueue_many(session, [job_row(REMOTE_MEDIA_QUEUE, {"remove_files": wanted})])
