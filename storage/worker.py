"""Queue workers: claim due jobs, run their handler, record the outcome.

`QueueWorker.run()` is the long-running loop started by `plein serve` / `plein worker`; `drain()` runs every
due job inline until none is left, which is how tests process background work without sleeping.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta

from storage.db import Database
from storage.queue import ClaimedJob, JobFailed, RetryJob, claim, mark_done, mark_failed, mark_retry

logger = logging.getLogger(__name__)

JobHandler = Callable[[ClaimedJob], Awaitable[int | None]]  # returns the remote status code, if any


def worker_name() -> str:
    """host:pid, recorded in `jobs.locked_by`."""
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


async def run_one(db: Database, handler: JobHandler, job: ClaimedJob) -> None:
    """Run one claimed job and record what happened; never raises (a bug fails only that job)."""
    try:
        status = await handler(job)
    except RetryJob as retry:
        await mark_retry(db, job.id, retry)
    except JobFailed as failure:
        logger.info("job %s (%s) failed: %s", job.id, job.queue, failure.error)
        await mark_failed(db, job.id, error=failure.error, status=failure.status)
    except Exception as error:  # a handler bug must not kill the worker
        logger.exception("job %s (%s) crashed", job.id, job.queue)
        await mark_failed(db, job.id, error=f"{type(error).__name__}: {error}")
    else:
        await mark_done(db, job.id, status=status)


class QueueWorker:
    """Runs the jobs of one queue with bounded concurrency."""

    def __init__(
        self,
        db: Database,
        queue: str,
        handler: JobHandler,
        *,
        concurrency: int = 8,
        poll_interval: float = 1.0,
        lease: timedelta = timedelta(minutes=5),
    ) -> None:
        self.db = db
        self.queue = queue
        self.handler = handler
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.lease = lease
        self.name = worker_name()
        self._wake = asyncio.Event()
        self._running: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        """Ask the loop to look for jobs now (called after a commit that enqueued some)."""
        self._wake.set()

    async def run(self) -> None:
        """Claim and run jobs until cancelled."""
        while True:
            free = self.concurrency - len(self._running)
            jobs: list[ClaimedJob] = []
            if free > 0:
                try:
                    jobs = await claim(self.db, self.queue, worker_id=self.name, limit=free, lease=self.lease)
                except Exception:
                    logger.exception("claiming %s jobs failed", self.queue)
            for job in jobs:
                task = asyncio.create_task(run_one(self.db, self.handler, job))
                self._running.add(task)
                task.add_done_callback(self._finished)
            if jobs and len(jobs) == free:
                await asyncio.sleep(0)  # there may be more due right now
                if self.concurrency - len(self._running) > 0:
                    continue
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)
            except TimeoutError:
                pass

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._wake.set()

    async def stop(self) -> None:
        """Wait for running jobs to finish (their leases protect them if we are killed instead)."""
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)


async def drain(db: Database, handlers: Mapping[str, JobHandler], *, max_rounds: int = 100) -> int:
    """Run every due job of every queue inline until none is due; returns how many ran."""
    ran = 0
    for _ in range(max_rounds):
        round_ran = 0
        for queue, handler in handlers.items():
            jobs = await claim(db, queue, worker_id=worker_name(), limit=100)
            for job in jobs:
                await run_one(db, handler, job)
            round_ran += len(jobs)
        ran += round_ran
        if round_ran == 0:
            return ran
    return ran
