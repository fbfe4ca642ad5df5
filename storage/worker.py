"""Queue workers: claim due jobs, run their handler, record the outcome.

`QueueWorker.run()` is the long-running loop started by `plein serve` / `plein worker`; `drain()` runs every
due job inline until none is left, which is how tests process background work without sleeping.

On the hot path (thousands of deliveries per post) a write transaction per job would cost more than the
HTTP request, so the worker claims in batches and records successes in batches: a success is written within
`flush_interval` seconds, in one transaction with the others finished meanwhile. A process killed before the
flush leaves those jobs leased; they run again after the lease (or at once, by `release_orphaned_jobs` on the
next start) — at-least-once, which receivers handle by deduplicating on activity id. Retries and failures are
written at once: they are rare and carry their forensic trail.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta

from storage.db import Database
from storage.queue import (
    ClaimedJob,
    JobFailed,
    RetryJob,
    claim,
    mark_done,
    mark_done_many,
    mark_failed,
    mark_retry,
)

logger = logging.getLogger(__name__)

JobHandler = Callable[[ClaimedJob], Awaitable[int | None]]  # returns the remote status code, if any
DoneRecorder = Callable[[int, int | None], Awaitable[None]]


def worker_name() -> str:
    """host:pid, recorded in `jobs.locked_by`."""
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


async def run_one(
    db: Database, handler: JobHandler, job: ClaimedJob, record_done: DoneRecorder | None = None
) -> None:
    """Run one claimed job and record what happened; never raises (a bug fails only that job).

    `record_done` takes over recording successes (the batching worker passes its buffer)."""
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
        if record_done is None:
            await mark_done(db, job.id, status=status)
        else:
            await record_done(job.id, status)


class QueueWorker:
    """Runs the jobs of one queue with bounded concurrency, claiming and completing in batches."""

    def __init__(
        self,
        db: Database,
        queue: str,
        handler: JobHandler,
        *,
        concurrency: int = 8,
        poll_interval: float = 1.0,
        lease: timedelta = timedelta(minutes=5),
        flush_interval: float = 0.05,
        flush_size: int = 200,
    ) -> None:
        self.db = db
        self.queue = queue
        self.handler = handler
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.lease = lease
        self.flush_interval = flush_interval
        self.flush_size = flush_size
        self.name = worker_name()
        self._wake = asyncio.Event()
        self._running: set[asyncio.Task[None]] = set()
        self._done: list[tuple[int, int | None]] = []
        self._flush_needed = asyncio.Event()

    def wake(self) -> None:
        """Ask the loop to look for jobs now (called after a commit that enqueued some)."""
        self._wake.set()

    async def _record_done(self, job_id: int, status: int | None) -> None:
        self._done.append((job_id, status))
        if len(self._done) >= self.flush_size:
            self._flush_needed.set()

    async def flush(self) -> None:
        """Write the buffered successes now."""
        done, self._done = self._done, []
        if done:
            try:
                await mark_done_many(self.db, done)
            except Exception:  # the jobs stay leased and run again later: at-least-once
                logger.exception("recording %d finished %s jobs failed", len(done), self.queue)

    async def _flusher(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._flush_needed.wait(), timeout=self.flush_interval)
            self._flush_needed.clear()
            await self.flush()

    async def run(self) -> None:
        """Claim and run jobs until cancelled."""
        flusher = asyncio.create_task(self._flusher(), name=f"flush:{self.queue}")
        try:
            await self._claim_loop()
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher

    async def _claim_loop(self) -> None:
        # Claim when at least a quarter of the slots are free (or nothing runs): fewer, larger claims.
        batch_threshold = max(1, self.concurrency // 4)
        while True:
            free = self.concurrency - len(self._running)
            jobs: list[ClaimedJob] = []
            if free >= batch_threshold or (free > 0 and not self._running):
                try:
                    jobs = await claim(self.db, self.queue, worker_id=self.name, limit=free, lease=self.lease)
                except Exception:
                    logger.exception("claiming %s jobs failed", self.queue)
            for job in jobs:
                task = asyncio.create_task(run_one(self.db, self.handler, job, self._record_done))
                self._running.add(task)
                task.add_done_callback(self._finished)
            if jobs and len(jobs) == free:
                continue  # every slot is busy; the next finished job wakes us
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if self.concurrency - len(self._running) >= max(1, self.concurrency // 4) or not self._running:
            self._wake.set()

    async def stop(self) -> None:
        """Wait for running jobs to finish and record them (their leases protect them if we are killed)."""
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
        await self.flush()


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
