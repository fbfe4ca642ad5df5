"""The `fan_out` queue's handler: one activity to the inboxes of a local account's remote followers, or (a
deleted account's `Delete`, audience `known_servers`) of every remote server this one knows.

A local action writes one `fan_out` job per account whose followers an activity goes to
(`outbox.addressing.enqueue_deliveries`), so the action's transaction stays small whatever the audience; this
handler reads the followers after the commit, a page at a time in follow id order (the known accounts in
account id order), and queues one `deliver` job per distinct inbox. Each page's delivery jobs and the job's
cursor (`after`, the last follow or account read) are
committed together, so a worker that dies midway leaves a job that goes on from the last committed page when
it runs again; and since a delivery's dedupe key is (activity, inbox), a page read twice, or a shared inbox
met again on a later page, queues nothing twice.

Policy is not decided here: the follower page leaves out gone and suspended accounts, and a host we do not
federate with is refused when its delivery is sent (`outbox.deliver`), as for every other delivery.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from storage.context import Context
from storage.db import Database
from storage.deliveries import DELIVER_QUEUE, KNOWN_SERVERS, delivery_job_row
from storage.follows import remote_follower_inbox_page
from storage.known_inboxes import known_inbox_page
from storage.queue import ClaimedJob, enqueue_many, save_job_payload
from storage.worker import JobHandler

PAGE_SIZE = 500  # follows per transaction: a few milliseconds of writer time each, on SQLite too


async def expand_fan_out(
    db: Database,
    job: ClaimedJob,
    *,
    page_size: int = PAGE_SIZE,
    after_page: Callable[[int], None] | None = None,
) -> int:
    """Queue the deliveries of a `fan_out` job from its cursor on, one transaction per page; `after_page`
    hears how many each committed page queued. Returns how many were queued in all."""
    payload: dict[str, Any] = dict(job.payload)
    queued = 0
    while True:
        async with db.transaction() as session:
            if payload.get("audience") == KNOWN_SERVERS:
                inboxes, last_read = await known_inbox_page(
                    session, after=int(payload["after"]), limit=page_size
                )
            else:
                inboxes, last_read = await remote_follower_inbox_page(
                    session, int(payload["followers_of"]), after=int(payload["after"]), limit=page_size
                )
            if last_read is None:
                return queued
            rows = [
                delivery_job_row(
                    activity_id=int(payload["activity_id"]),
                    sender_id=int(payload["sender_id"]),
                    inbox=inbox,
                    priority=int(payload["priority"]),
                )
                for inbox in inboxes
            ]
            page_queued = await enqueue_many(session, rows)
            payload["after"] = last_read
            await save_job_payload(session, job.id, payload)
        queued += page_queued
        if after_page is not None:
            after_page(page_queued)


def fan_out_handler(ctx: Context) -> JobHandler:
    """The `fan_out` queue's handler, bound to `ctx`: each committed page wakes this process's delivery
    worker, so the first inboxes are being sent to while the next page is read."""

    def wake_deliveries(queued: int) -> None:
        if queued:
            ctx.wake_worker(DELIVER_QUEUE)

    async def handle(job: ClaimedJob) -> None:
        await expand_fan_out(ctx.db, job, after_page=wake_deliveries)

    return handle
