"""The `groups` queue's handler: a local group announces a post addressed to it (queued by the inbox's
`Create` handler and by `post_status`, `storage.groups.queue_announces`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from outbox.actions.groups import announce_in_group
from storage.context import Context
from storage.queue import ClaimedJob, JobFailed


def group_job_handler(ctx: Context) -> Callable[[ClaimedJob], Awaitable[None]]:
    """Run one `groups` job: `announce`."""

    async def handle(job: ClaimedJob) -> None:
        if job.payload.get("kind") != "announce":
            raise JobFailed(f"unknown groups job {job.payload.get('kind')!r}")
        await announce_in_group(ctx, int(job.payload["group_id"]), str(job.payload["status_uri"]))

    return handle
