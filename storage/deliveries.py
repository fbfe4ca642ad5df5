"""The shape of a delivery job, shared by everything that queues one (outbox actions, inbox replies).

A job names a stored activity, the local sender whose key signs it and one target inbox; the delivery worker
renders and signs the activity at send time. The dedupe key makes queueing the same delivery twice a no-op.
"""

from __future__ import annotations

from typing import Any

from apub.hosts import host_of
from storage.queue import job_row

DELIVER_QUEUE = "deliver"


def delivery_job_row(*, activity_id: int, sender_id: int, inbox: str, priority: int = 0) -> dict[str, Any]:
    """The row of one `deliver` job (for `storage.queue.enqueue_many`)."""
    return job_row(
        DELIVER_QUEUE,
        {"activity_id": activity_id, "inbox": inbox, "sender_id": sender_id},
        dedupe_key=f"{activity_id} {inbox}",
        host=host_of(inbox),
        priority=priority,
    )
