"""The `polls` queue's handler: a poll's end at its `expires_at`, and the coalesced `Update` of a local
poll's counts (both written by `storage.polls`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from outbox.actions.polls import end_poll, send_poll_update
from storage.context import Context
from storage.queue import ClaimedJob, JobFailed


def poll_job_handler(ctx: Context) -> Callable[[ClaimedJob], Awaitable[None]]:
    """Run one `polls` job: `end` or `update`."""

    async def handle(job: ClaimedJob) -> None:
        kind = job.payload.get("kind")
        if kind == "end":
            await end_poll(ctx, int(job.payload["poll_id"]), str(job.payload["expires_at"]))
        elif kind == "update":
            await send_poll_update(ctx, int(job.payload["poll_id"]))
        else:
            raise JobFailed(f"unknown polls job {kind!r}")

    return handle
