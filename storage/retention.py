"""Keeping data no longer than needed (AVG/GDPR): a `maintenance` job on the durable queue, run hourly, that
deletes failed-login records (they hold client addresses) after `privacy.security_log_days`, and
Idempotency-Key records after a day (Mastodon keeps them an hour; a day still covers any client's retries),
the withdrawn files of deleted statuses' media after `privacy.deleted_media_days`, uploads never attached
to a status after `media.orphan_upload_hours` (storage.media_lifecycle), our copies of remote attachments
after `media.remote_cache_days` (storage.media_cache), and the preview cards no status shows any more, with
their image files (storage.preview_cards).

The job schedules its own next run (no second scheduler); a process starting its workers makes sure one is
scheduled, and the dedupe key of each run's hour keeps it to one however many processes start.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

import anyio.to_thread
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.media_cache import prune_remote_media, remove_pruned_files
from storage.media_lifecycle import purge_orphaned_uploads, purge_withdrawn_media, remove_orphaned_files
from storage.models import IdempotencyKey, LoginAttempt
from storage.organisations import purge_audit
from storage.preview_cards import purge_unreferenced_cards, remove_card_images
from storage.queue import ClaimedJob, enqueue
from storage.types import utcnow

MAINTENANCE_QUEUE = "maintenance"
EVERY = timedelta(hours=1)
IDEMPOTENCY_KEEP = timedelta(days=1)


async def schedule_maintenance(session: AsyncSession, at: datetime) -> bool:
    """Queue the maintenance run of `at`'s hour (once, however often asked); False if already queued."""
    return await enqueue(
        session, MAINTENANCE_QUEUE, {"kind": "retention"}, run_at=at, dedupe_key=f"retention {at:%Y-%m-%dT%H}"
    )


async def ensure_maintenance(db: Database) -> None:
    """Make sure a maintenance run is due within the hour (called where workers start)."""
    async with db.transaction() as session:
        await schedule_maintenance(session, utcnow())


async def purge_expired(session: AsyncSession, *, now: datetime, security_log_days: int) -> dict[str, int]:
    """Delete what is past its retention; returns how many rows of each kind went."""
    logins = await session.execute(
        delete(LoginAttempt).where(LoginAttempt.created_at < now - timedelta(days=security_log_days))
    )
    keys = await session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.created_at < now - IDEMPOTENCY_KEEP)
    )
    return {"login_attempts": max(logins.rowcount, 0), "idempotency_keys": max(keys.rowcount, 0)}


def maintenance_handler(
    db: Database,
    *,
    security_log_days: int,
    data_dir: Path,
    deleted_media_days: int,
    orphan_upload_hours: int = 24,
    remote_cache_days: int = 0,
    audit_retention_days: int = 0,
) -> Callable[[ClaimedJob], Awaitable[None]]:
    """The `maintenance` queue's handler: purge, and schedule the next run in the same transaction."""

    async def handle(job: ClaimedJob) -> None:
        now = utcnow()
        async with db.transaction() as session:
            await purge_expired(session, now=now, security_log_days=security_log_days)
            await purge_withdrawn_media(session, data_dir=data_dir, now=now, keep_days=deleted_media_days)
            orphaned = await purge_orphaned_uploads(session, now=now, keep_hours=orphan_upload_hours)
            await purge_audit(session, now=now, keep_days=audit_retention_days)
            pruned = (
                await prune_remote_media(session, data_dir=data_dir, now=now, days=remote_cache_days)
                if remote_cache_days > 0
                else None
            )
            card_files = await purge_unreferenced_cards(session, now=now)
            await schedule_maintenance(session, now + EVERY)
        await anyio.to_thread.run_sync(remove_orphaned_files, data_dir, orphaned)
        if pruned is not None:
            await anyio.to_thread.run_sync(remove_pruned_files, data_dir, pruned.paths)
        await remove_card_images(data_dir, card_files)

    return handle
