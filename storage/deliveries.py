"""The shape of a delivery job, shared by everything that queues one (outbox actions, inbox replies, the
fan-out job), and of the fan-out jobs that expand an activity to its audience later: its author's followers,
or every known remote server (a deleted account's `Delete`).

A delivery job names a stored activity, the local sender whose key signs it and one target inbox; the delivery
worker renders and signs the activity at send time. The dedupe key makes queueing the same delivery twice a
no-op, which is what lets a fan-out job that died midway run again without sending anything twice.
"""

from __future__ import annotations

from typing import Any

from apub.hosts import host_of
from storage.queue import job_row

DELIVER_QUEUE = "deliver"
FAN_OUT_QUEUE = "fan_out"


def delivery_job_row(*, activity_id: int, sender_id: int, inbox: str, priority: int = 0) -> dict[str, Any]:
    """The row of one `deliver` job (for `storage.queue.enqueue_many`)."""
    return job_row(
        DELIVER_QUEUE,
        {"activity_id": activity_id, "inbox": inbox, "sender_id": sender_id},
        dedupe_key=f"{activity_id} {inbox}",
        host=host_of(inbox),
        priority=priority,
    )


def fan_out_job_row(*, activity_id: int, sender_id: int, followers_of: int, priority: int) -> dict[str, Any]:
    """The row of a `fan_out` job: "deliver activity X to the inboxes of the remote followers of local
    account Y" (one per activity and account), expanded by `outbox.fan_out`. `after` is its cursor (the last follow expanded),
    saved with each batch of deliveries."""
    return job_row(
        FAN_OUT_QUEUE,
        {
            "activity_id": activity_id,
            "sender_id": sender_id,
            "followers_of": followers_of,
            "priority": priority,
            "after": 0,
        },
        dedupe_key=f"{activity_id} followers of {followers_of}",
    )


KNOWN_SERVERS = (
    "known_servers"  # a `fan_out` job's audience: every known remote server (`storage.known_inboxes`)
)


def known_servers_job_row(*, activity_id: int, sender_id: int, priority: int) -> dict[str, Any]:
    """The row of a `fan_out` job: "deliver activity X to every remote server this one knows", expanded by
    `outbox.fan_out` like a followers' one; `after` is its cursor (the last remote account expanded)."""
    return job_row(
        FAN_OUT_QUEUE,
        {
            "activity_id": activity_id,
            "sender_id": sender_id,
            "audience": KNOWN_SERVERS,
            "priority": priority,
            "after": 0,
        },
        dedupe_key=f"{activity_id} known servers",
    )
