"""The `accounts` queue's handler: delete an account whose owner asked for it, once its grace period ends."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from outbox.actions.account_deletion import delete_account_when_due
from storage.context import Context
from storage.queue import ClaimedJob


def account_job_handler(ctx: Context) -> Callable[[ClaimedJob], Awaitable[None]]:
    """Run one `delete` job (see `outbox.actions.account_deletion`)."""

    async def handle(job: ClaimedJob) -> None:
        await delete_account_when_due(ctx, int(job.payload["account_id"]))

    return handle
