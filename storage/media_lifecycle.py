"""What happens to the files of local media after their status is deleted.

A deleted status's media leave the public media folder at once — the `media` job queued in the deletion's
transaction moves each upload's folder from `<data_dir>/media/` to `<data_dir>/withdrawn-media/`, so neither
Plein nor a proxy serving the media folder from disk (deploy/nginx) can hand them out — and, until the job
has run, `web.media` already refuses files of a deleted status. Withdrawn files are kept
`privacy.deleted_media_days` (for an appeal, a moderator, or the public-records archive), then the hourly
maintenance job deletes them with their rows.

Uploads never attached to a status are deleted with their files by the same run once they are
`media.orphan_upload_hours` old (Mastodon's one day), except what is not an orphan though it has no status:
avatars and headers (media rows of type avatar/header) and media held by a scheduled status.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import ColumnElement, and_, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.media import PROFILE_IMAGE_SIZES, media_root, parse_stored_path, remove_media_files
from storage.models import MediaAttachment, Status
from storage.queue import ClaimedJob, enqueue

MEDIA_QUEUE = "media"
WITHDRAWN_FOLDER = "withdrawn-media"


def withdrawn_root(data_dir: Path) -> Path:
    return data_dir / WITHDRAWN_FOLDER


async def queue_withdrawal(session: AsyncSession, status_id: int) -> bool:
    """In a status deletion's transaction: queue moving its media files out of public reach (False when it
    had none)."""
    media_ids = list(
        (
            await session.execute(
                select(MediaAttachment.id).where(
                    MediaAttachment.status_id == status_id, MediaAttachment.file_path.is_not(None)
                )
            )
        ).scalars()
    )
    if not media_ids:
        return False
    return await enqueue(
        session, MEDIA_QUEUE, {"kind": "withdraw", "media_ids": media_ids}, dedupe_key=f"withdraw {status_id}"
    )


def _move_folder(source_root: Path, target_root: Path, file_path: str) -> None:
    """Move an upload's folder; done already (a retried job) is fine."""
    stored = parse_stored_path(file_path)
    if stored is None:
        return
    source = source_root / stored.folder
    if source.is_dir():
        target_root.mkdir(parents=True, exist_ok=True)
        os.replace(source, target_root / stored.folder)


def media_handler(db: Database, *, data_dir: Path) -> Callable[[ClaimedJob], Awaitable[None]]:
    """The `media` queue's handler: withdraw the files of deleted statuses' media."""

    async def handle(job: ClaimedJob) -> None:
        async with db.read() as session:
            paths = list(
                (
                    await session.execute(
                        select(MediaAttachment.file_path).where(
                            MediaAttachment.id.in_(job.payload["media_ids"])
                        )
                    )
                ).scalars()
            )
        for file_path in paths:
            if file_path:
                _move_folder(media_root(data_dir), withdrawn_root(data_dir), file_path)

    return handle


async def purge_withdrawn_media(
    session: AsyncSession, *, data_dir: Path, now: datetime, keep_days: int
) -> int:
    """Delete the files and rows of media whose status was deleted more than `keep_days` ago."""
    rows = list(
        await session.execute(
            select(MediaAttachment.id, MediaAttachment.file_path)
            .join(Status, Status.id == MediaAttachment.status_id)
            .where(
                Status.deleted_at < now - timedelta(days=keep_days),
                MediaAttachment.file_path.is_not(None),
            )
        )
    )
    for _, file_path in rows:
        stored = parse_stored_path(file_path)
        if stored is not None:
            for root in (withdrawn_root(data_dir), media_root(data_dir)):
                shutil.rmtree(root / stored.folder, ignore_errors=True)
    if rows:
        await session.execute(
            delete(MediaAttachment).where(MediaAttachment.id.in_([media_id for media_id, _ in rows]))
        )
    return len(rows)


def _orphaned(cutoff: datetime) -> ColumnElement[bool]:
    return and_(
        MediaAttachment.status_id.is_(None),
        MediaAttachment.scheduled_status_id.is_(None),
        MediaAttachment.media_type.not_in(tuple(PROFILE_IMAGE_SIZES)),
        MediaAttachment.created_at < cutoff,
    )


async def purge_orphaned_uploads(session: AsyncSession, *, now: datetime, keep_hours: int) -> list[str]:
    """Delete the rows of uploads attached to nothing for `keep_hours`; returns their files' paths, for
    `remove_orphaned_files` once the transaction has committed (a failed commit leaves every file)."""
    cutoff = now - timedelta(hours=keep_hours)
    rows = list(
        await session.execute(select(MediaAttachment.id, MediaAttachment.file_path).where(_orphaned(cutoff)))
    )
    if not rows:
        return []
    # The condition again: a status may have taken one of them since it was read.
    await session.execute(
        delete(MediaAttachment)
        .where(MediaAttachment.id.in_([media_id for media_id, _ in rows]), _orphaned(cutoff))
        .execution_options(synchronize_session=False)
    )
    remaining = set(
        (
            await session.execute(
                select(MediaAttachment.id).where(MediaAttachment.id.in_([media_id for media_id, _ in rows]))
            )
        ).scalars()
    )
    return [path for media_id, path in rows if path and media_id not in remaining]


def remove_orphaned_files(data_dir: Path, paths: list[str]) -> None:
    """Delete the folders of purged uploads. Blocking file I/O: call it in a thread."""
    for path in paths:
        remove_media_files(media_root(data_dir), path)
