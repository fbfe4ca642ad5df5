"""The `scheduled_statuses` queue's handler: publish a scheduled status when its time has come."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from outbox.actions.scheduled import publish_scheduled
from storage.context import Context
from storage.queue import ClaimedJob


def scheduled_job_handler(ctx: Context) -> Callable[[ClaimedJob], Awaitable[None]]:
    """Run one `publish` job (a gone scheduled status is nothing to do)."""

    async def handle(job: ClaimedJob) -> None:
        await publish_scheduled(ctx, int(job.payload["scheduled_status_id"]))

    return handle
