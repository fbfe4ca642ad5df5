"""The purge of cut-off hosts' content, as jobs of the `moderation` queue.

A suspend hides the content at once (its accounts are suspended in the action's transaction) and queues one
`purge` job naming the hosts. The job deletes what `severance.content_counts` counted, a batch of each kind
per transaction (so the SQLite writer is never held for long), records its progress in its own payload in
that same transaction (a retried job goes on counting where it stopped), and gives way to other work after
`BATCHES_PER_RUN` batches. When nothing is left it writes a `domain.purge` audit entry with what it
removed. Media attachments of remote accounts are links (`storage.media` stores local uploads only), so
removing their rows removes all Plein holds of them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from moderation.severance import Counts, accounts_on, purged_media, purged_statuses, reported_status_ids
from storage.audit import add_audit_entry
from storage.context import Context
from storage.media_cache import queue_file_removal
from storage.models import Account, Favourite, Job, MediaAttachment, Notification, Status
from storage.profile_jobs import forget_profile_images
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


async def _delete_batch(
    session: AsyncSession, model: Any, condition: ColumnElement[bool], *columns: Any
) -> list[Any]:
    """Delete up to BATCH rows of `model` matching `condition`; returns them (their `id` and `columns`)."""
    rows = list((await session.execute(select(model.id, *columns).where(condition).limit(BATCH))).all())
    if rows:
        await session.execute(delete(model).where(model.id.in_([row.id for row in rows])))
    return rows


async def purge_batch(session: AsyncSession, hosts: list[str], removed: Counts) -> bool:
    """Delete one batch of each kind of content of the suspended accounts on `hosts`, adding to `removed`.

    Returns whether nothing is left."""
    accounts = accounts_on(hosts).where(Account.suspended_at.is_not(None))
    theirs = accounts.scalar_subquery()
    kept = await reported_status_ids(session, accounts)
    notifications = await _delete_batch(session, Notification, Notification.from_account_id.in_(theirs))
    favourites = await _delete_batch(
        session, Favourite, Favourite.account_id.in_(theirs), Favourite.status_id
    )
    await forget_profile_images(session, Account.id.in_(theirs))
    media = await _delete_batch(
        session, MediaAttachment, purged_media(accounts, kept), MediaAttachment.file_path
    )
    await queue_file_removal(session, [row.file_path for row in media])  # our copies of their attachments
    statuses = await _delete_batch(
        session, Status, purged_statuses(accounts, kept), Status.reblog_of_id, Status.in_reply_to_id
    )
    removed.notifications += len(notifications)
    removed.favourites += len(favourites)
    removed.media += len(media)
    removed.statuses += len(statuses)
    gone = {row.id for row in statuses}
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
    return done


def purge_handler(ctx: Context) -> JobHandler:
    """The `moderation` queue's handler bound to `ctx`."""

    async def handle(job: ClaimedJob) -> None:
        payload = job.payload
        hosts: list[str] = payload["hosts"]
        removed = Counts.from_dict(payload.get("removed") or {})
        for _ in range(BATCHES_PER_RUN):
            async with ctx.db.transaction() as session:
                done = await purge_batch(session, hosts, removed)
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
            if done:
                return None
        # Give the queue back to other work; the progress is in the payload.
        raise RetryJob(utcnow(), error=f"purging: {removed.summary()}")

    return handle
