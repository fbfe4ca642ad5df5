"""Waking the workers of other processes when jobs are queued, through the event bus.

A commit that queues jobs wakes this process's worker of that queue at once (`Context.wake_worker`). A
process that runs no workers (`plein serve --no-workers` on PostgreSQL) used to leave its jobs to the
`plein worker` processes' next poll (a second, `QueueWorker.poll_interval`): a post's fan-out then started
0.5 s late on average. Instead, for a post's queues (`wakes_other_processes`), such a process publishes a
`jobs:<queue>` event on the bus — `storage.pg_bus` carries it through NOTIFY to every process on the
database — and every process that runs workers listens to those topics (`WakeListener`) and wakes its worker of the queue. The poll stays, as the
safety net for a notification lost with a dropped LISTEN connection and for jobs that fall due later.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from storage.bus import Event, EventBus
from storage.deliveries import DELIVER_QUEUE, FAN_OUT_QUEUE

TOPIC_PREFIX = "jobs:"
KIND = "jobs"


class Wakeable(Protocol):
    def wake(self) -> None: ...


def wakes_other_processes(queue: str) -> bool:
    """Whether jobs queued in `queue` by a process without workers are announced on the bus: a post's
    fan-out and deliveries, which a reader waits for. The inbox's jobs are left to the poll: they come
    with every received batch, and claimed a second later they are claimed a second's worth at once."""
    return queue in (FAN_OUT_QUEUE, DELIVER_QUEUE)


def jobs_topic(queue: str) -> str:
    """The bus topic that announces new jobs in `queue`."""
    return f"{TOPIC_PREFIX}{queue}"


def jobs_queued(queue: str) -> Event:
    """The event saying that a committed transaction queued jobs in `queue` (no payload: the worker claims)."""
    return Event(topic=jobs_topic(queue), kind=KIND)


class WakeListener:
    """Wakes this process's workers when any process announces jobs for their queues; runs until cancelled."""

    def __init__(self, bus: EventBus, workers: Mapping[str, Wakeable]) -> None:
        self.bus = bus
        self.workers = dict(workers)

    async def run(self) -> None:
        """Listen to the `jobs:<queue>` topics of the workers and wake each one named."""
        by_topic = {jobs_topic(queue): worker for queue, worker in self.workers.items()}
        async with self.bus.subscribe(*by_topic) as heard:
            while True:
                event = await heard.get()
                worker = by_topic.get(event.topic)
                if worker is not None:
                    worker.wake()

    async def stop(self) -> None:
        """Nothing to hand back: the subscription ends with `run`."""
