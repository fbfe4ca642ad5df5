"""The daily public-records package: with `archive.folder` set, each UTC day, once it has ended, is written to
`<folder>/<YYYY-MM-DD>/` (archive.public_records) by a job on the durable queue.

The job of a day schedules the next day's in its own transaction, so there is one chain however many
processes run workers (the dedupe key of each day keeps it to one). A process starting its workers schedules
every day missing since the newest package in the folder (at most a year back; the first time, yesterday),
so days when no worker ran are caught up. A package is written to a hidden folder and renamed into place
when complete: a crash mid-way leaves no half package under a day's name, and a day already there is not
written again.
"""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from archive.public_records import day_start, export_public_records, period_of
from storage.context import Context
from storage.queue import ClaimedJob, enqueue
from storage.types import utcnow

ARCHIVE_QUEUE = "archive"
# Past midnight UTC before a day is packed, so that activities of its last second have been written.
AFTER_MIDNIGHT = timedelta(minutes=15)
CATCH_UP_DAYS = 366
DAY_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}$")

log = logging.getLogger(__name__)


async def schedule_day(session: AsyncSession, day: date) -> bool:
    """Queue the package of `day`, due once the day is over (False if already queued)."""
    return await enqueue(
        session,
        ARCHIVE_QUEUE,
        {"day": day.isoformat()},
        run_at=day_start(day + timedelta(days=1)) + AFTER_MIDNIGHT,
        dedupe_key=f"archive {day.isoformat()}",
    )


def packed_days(folder: Path) -> list[date]:
    """The days that have a package in `folder`, oldest first."""
    if not folder.is_dir():
        return []
    return sorted(
        date.fromisoformat(entry.name) for entry in folder.iterdir() if DAY_FOLDER.match(entry.name)
    )


def days_to_pack(folder: Path, today: date) -> list[date]:
    """The ended days with no package yet, after the newest one in `folder` (the first time: yesterday)."""
    yesterday = today - timedelta(days=1)
    packed = packed_days(folder)
    first = packed[-1] + timedelta(days=1) if packed else yesterday
    first = max(first, today - timedelta(days=CATCH_UP_DAYS))
    return [first + timedelta(days=n) for n in range((yesterday - first).days + 1)]


async def ensure_daily_archive(ctx: Context) -> int:
    """Where workers start: queue every missing day's package (none when no folder is configured)."""
    if not ctx.settings.archive.folder:
        return 0
    folder = Path(ctx.settings.archive.folder)
    queued = 0
    async with ctx.db.transaction() as session:
        for day in days_to_pack(folder, utcnow().date()):
            queued += await schedule_day(session, day)
        await schedule_day(session, utcnow().date())  # the chain goes on from today's
    return queued


async def pack_day(ctx: Context, folder: Path, day: date) -> bool:
    """Write `day`'s package into `folder` unless it is there; True when written."""
    target = folder / day.isoformat()
    if target.exists():
        return False
    partial = folder / f".partial-{day.isoformat()}"
    shutil.rmtree(partial, ignore_errors=True)  # a crashed earlier try
    folder.mkdir(parents=True, exist_ok=True)
    summary = await export_public_records(ctx, partial, period=period_of(day, day), skip_quiet=True)
    partial.rename(target)
    log.info(
        "archive package written",
        extra={"day": day.isoformat(), "accounts": summary.accounts, "activities": summary.activities},
    )
    return True


def archive_handler(ctx: Context) -> Callable[[ClaimedJob], Awaitable[None]]:
    """The `archive` queue's handler: pack the job's day, then queue the next day's."""

    async def handle(job: ClaimedJob) -> None:
        day = date.fromisoformat(job.payload["day"])
        if not ctx.settings.archive.folder:
            return  # archiving was switched off: the chain ends (ensure_daily_archive starts it again)
        await pack_day(ctx, Path(ctx.settings.archive.folder), day)
        async with ctx.db.transaction() as session:
            await schedule_day(session, day + timedelta(days=1))

    return handle
