"""The purge of cut-off hosts' content, as jobs of the `moderation` queue.

A suspend hides the content at once (its accounts are suspended in the action's transaction) and queues one
`purge` job naming the hosts. The job deletes what `severance.content_counts` counted, a batch of each kind
per transaction (so the SQLite writer is never held for long), records its progress in its own payload in
that same transaction (a retried job goes on counting where it stopped), and gives way to other work after
`BATCHES_PER_RUN` batches. When nothing is left it writes a `domain.purge` audit entry with what it
removed. Files of stored media are removed after the batch that deleted their rows has committed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from moderation.severance import Counts, accounts_on, purged_media, purged_statuses, reported_status_ids
from storage.audit import add_audit_entry
from storage.context import Context
from storage.media import media_root, remove_media_files
from storage.models import Account, Favourite, Job, MediaAttachment, Notification, Status
from storage.queue import ClaimedJob, RetryJob, job_row
from storage.statuses import recount_status_counters
from storage.types import utcnow
from storage.worker import JobHandler

MODERATION_QUEUE = "moderation"
BATCH = 500
BATCHES_PER_RUN = 20


def purge_job_row(*, domain: str, hosts: list[str], actor: str) -> dict[str, Any]:
    """The job that purges the content of the suspended accounts on `hosts` (for `enqueue_many`)."""
    return job_row(
        MODERATION_QUEUE,
        {"kind": "purge", "domain": domain, "hosts": hosts, "actor": actor, "removed": Counts().as_dict()},
    )


async def _ids(session: AsyncSession, statement: Any) -> list[Any]:
    return list((await session.execute(statement.limit(BATCH))).all())


async def purge_batch(session: AsyncSession, hosts: list[str], removed: Counts) -> tuple[bool, list[str]]:
    """Delete one batch of each kind of content of the suspended accounts on `hosts`, adding to `removed`.

    Returns whether nothing is left, and the stored media files to remove once this has committed."""
    accounts = accounts_on(hosts).where(Account.suspended_at.is_not(None))
    theirs = accounts.scalar_subquery()
    kept = await reported_status_ids(session, accounts)

    notifications = [
        row.id
        for row in await _ids(
            session, select(Notification.id).where(Notification.from_account_id.in_(theirs))
        )
    ]
    await session.execute(delete(Notification).where(Notification.id.in_(notifications)))
    removed.notifications += len(notifications)

    favourites = await _ids(
        session, select(Favourite.id, Favourite.status_id).where(Favourite.account_id.in_(theirs))
    )
    await session.execute(delete(Favourite).where(Favourite.id.in_([row.id for row in favourites])))
    removed.favourites += len(favourites)

    media = await _ids(
        session, select(MediaAttachment.id, MediaAttachment.file_path).where(purged_media(accounts, kept))
    )
    await session.execute(delete(MediaAttachment).where(MediaAttachment.id.in_([row.id for row in media])))
    removed.media += len(media)

    statuses = await _ids(
        session,
        select(Status.id, Status.reblog_of_id, Status.in_reply_to_id).where(purged_statuses(accounts, kept)),
    )
    gone = {row.id for row in statuses}
    await session.execute(delete(Status).where(Status.id.in_(gone)))
    removed.statuses += len(statuses)

    touched = {row.status_id for row in favourites}
    touched.update(row.reblog_of_id for row in statuses if row.reblog_of_id is not None)
    touched.update(row.in_reply_to_id for row in statuses if row.in_reply_to_id is not None)
    await recount_status_counters(session, touched - gone)
    done = max(len(notifications), len(favourites), len(media), len(statuses)) < BATCH
    if done:
        remaining = select(func.count()).where(Status.account_id == Account.id).scalar_subquery()
        await session.execute(
            update(Account)
            .where(Account.id.in_(theirs))
            .values(statuses_count=remaining)
            .execution_options(synchronize_session=False)
        )
    return done, [row.file_path for row in media if row.file_path]


def purge_handler(ctx: Context) -> JobHandler:
    """The `moderation` queue's handler bound to `ctx`."""

    async def handle(job: ClaimedJob) -> None:
        payload = job.payload
        hosts: list[str] = payload["hosts"]
        removed = Counts.from_dict(payload.get("removed") or {})
        root = media_root(ctx.settings.server.data_dir)
        for _ in range(BATCHES_PER_RUN):
            async with ctx.db.transaction() as session:
                done, files = await purge_batch(session, hosts, removed)
                await session.execute(
                    update(Job)
                    .where(Job.id == job.id)
                    .values(payload={**payload, "removed": removed.as_dict()})
                )
                if done:
                    await add_audit_entry(
                        session,
                        actor=payload.get("actor", "system"),
                        action="domain.purge",
                        target=payload.get("domain", ""),
                        details={"hosts": hosts, "removed": removed.as_dict()},
                    )
            for file_path in files:
                await asyncio.to_thread(remove_media_files, root, file_path)
            if done:
                return None
        # Give the queue back to other work; the progress is in the payload.
        raise RetryJob(utcnow(), error=f"purging: {removed.summary()}")

    return handle
