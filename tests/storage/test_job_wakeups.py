"""Jobs queued by a process without workers wake another process's worker through the bus, not its poll."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from storage.bus import EventBus
from storage.context import Context
from storage.db import Database
from storage.deliveries import FAN_OUT_QUEUE
from storage.job_wakeups import WakeListener
from storage.pg_bus import make_event_bus
from storage.queue import ClaimedJob, enqueue_many, job_row
from storage.settings import Settings
from storage.worker import QueueWorker

NEVER = 3600.0  # a poll interval no test outlives: only a wake-up can make the worker look again


@contextlib.asynccontextmanager
async def _bus(database_url: str, shared: EventBus | None) -> AsyncIterator[EventBus]:
    """A process's bus: on PostgreSQL its own LISTEN/NOTIFY connections; on SQLite (one process) `shared`."""
    if shared is not None:
        yield shared
        return
    bus = make_event_bus(database_url)
    await bus.start()
    try:
        yield bus
    finally:
        await bus.close()


async def test_a_process_without_workers_wakes_another_process_worker(
    db: Database, database_url: str
) -> None:
    in_process = None if database_url.startswith("postgresql") else EventBus()
    async with _bus(database_url, in_process) as serving_bus, _bus(database_url, in_process) as working_bus:
        serving = Context(settings=Settings(), db=db, bus=serving_bus)  # `serve --no-workers`: no workers
        ran: asyncio.Queue[int] = asyncio.Queue()

        async def handler(job: ClaimedJob) -> None:
            await ran.put(job.payload["n"])

        worker = QueueWorker(db, FAN_OUT_QUEUE, handler, poll_interval=NEVER)
        listener = WakeListener(working_bus, {FAN_OUT_QUEUE: worker})
        tasks = [asyncio.create_task(worker.run()), asyncio.create_task(listener.run())]
        try:
            async with db.transaction() as session:
                await enqueue_many(session, [job_row(FAN_OUT_QUEUE, {"n": 1})])
            serving.wake_worker(
                FAN_OUT_QUEUE
            )  # the first claim may have missed it: then only a wake-up finds it
            assert await asyncio.wait_for(ran.get(), 30) == 1  # a bound for a hung test only
            # Now the worker sleeps for its whole poll interval: the second job runs because it is woken.
            async with db.transaction() as session:
                await enqueue_many(session, [job_row(FAN_OUT_QUEUE, {"n": 2})])
            serving.wake_worker(FAN_OUT_QUEUE)
            assert await asyncio.wait_for(ran.get(), 30) == 2
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await worker.stop()


async def test_a_process_with_the_worker_wakes_it_directly_and_publishes_nothing(db: Database) -> None:
    bus = EventBus()
    woken: list[str] = []

    class Worker:
        def wake(self) -> None:
            woken.append(FAN_OUT_QUEUE)

    ctx = Context(settings=Settings(), db=db, bus=bus)
    ctx.caches["workers"] = {FAN_OUT_QUEUE: Worker()}
    async with bus.subscribe("jobs:fan_out", "jobs:inbox") as heard:
        ctx.wake_worker(FAN_OUT_QUEUE)
        assert woken == [FAN_OUT_QUEUE] and heard.empty()
        ctx.wake_worker("inbox")  # no worker here, but the inbox's jobs are left to the other workers' poll
        assert heard.empty()
