"""The `quotes` queue's handler: the `Update` of a local quote post once its approval stamp arrived
(written by the inbox's `Accept` handler, `storage.quotes.schedule_republish`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from outbox.actions.quotes import republish_quote
from storage.context import Context
from storage.queue import ClaimedJob, JobFailed


def quote_job_handler(ctx: Context) -> Callable[[ClaimedJob], Awaitable[None]]:
    """Run one `quotes` job: `republish`."""

    async def handle(job: ClaimedJob) -> None:
        if job.payload.get("kind") != "republish":
            raise JobFailed(f"unknown quotes job {job.payload.get('kind')!r}")
        await republish_quote(ctx, int(job.payload["status_id"]))

    return handle
