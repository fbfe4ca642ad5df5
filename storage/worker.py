"""Queue workers: claim due jobs, run their handler, record the outcome.

`QueueWorker.run()` is the long-running loop started by `plein serve` / `plein worker`; `drain()` runs every
due job inline until none is left, which is how tests process background work without sleeping.

On the hot path (thousands of deliveries per post) a write transaction per job would cost more than the
HTTP request, so the worker claims in batches and records successes in batches: a success is written within
`flush_interval` seconds, in one transaction with the others finished meanwhile. A process killed before the
flush leaves those jobs leased; they run again once another worker process takes them back (`WorkerHeartbeat`,
within a minute) — at-least-once, which receivers handle by deduplicating on activity id. Retries and failures are
written at once: they are rare and carry their forensic trail.

Claims run ahead of the work: the worker keeps up to `prefetch` claimed jobs waiting in memory, starts the next
one the moment a running job finishes (no database round trip between two jobs), and claims again once the
waiting jobs fall to a quarter of `prefetch`; the successes recorded since the last write ride along in the same
transaction. A write transaction costs milliseconds of CPU through the async driver whatever it holds, so
claims are few and large, and the slots stay full while one is in flight. A job that waited in memory for half
its lease is given back rather than started (its lease could run out while it runs, and another worker would
run it too); jobs still waiting when the worker stops are given back as well (`release`). If the process dies
instead, `WorkerHeartbeat` in a surviving process takes them back with the running ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import TypeVar

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
    purge_finished,
    release,
)
from storage.recovery import beat, forget, release_jobs_of_silent_workers, release_orphaned_jobs
from storage.request_ids import REQUEST_ID
from storage.transient import transient_cause
from storage.types import utcnow

logger = logging.getLogger(__name__)

T = TypeVar("T")

JobHandler = Callable[[ClaimedJob], Awaitable[int | None]]  # returns the remote status code, if any
DoneRecorder = Callable[[int, int | None], Awaitable[None]]
Observer = Callable[[str, str], None]  # (queue, outcome) of each job run


def worker_name() -> str:
    """host:pid, recorded in `jobs.locked_by`."""
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


TRANSIENT_FIRST_RETRY = 5.0  # seconds; doubling per try
TRANSIENT_MAX_RETRY = (
    300.0  # a database away for longer is retried every five minutes, for as long as it takes
)


def transient_retry(job: ClaimedJob, cause: str) -> RetryJob:
    """The retry of a job whose handler met a transient database error (`storage.transient`): the same job,
    later, backing off per try so a database struggling under load is not hammered by every worker at once."""
    delay = min(TRANSIENT_FIRST_RETRY * 2 ** max(job.tries - 1, 0), TRANSIENT_MAX_RETRY)
    return RetryJob(utcnow() + timedelta(seconds=delay * random.uniform(0.75, 1.25)), error=cause)


async def run_one(
    db: Database,
    handler: JobHandler,
    job: ClaimedJob,
    record_done: DoneRecorder | None = None,
    observe: Observer | None = None,
) -> None:
    """Run one claimed job and record what happened; never raises (a bug fails only that job).

    A transient database error (`storage.transient`) is no bug: the job is retried later, never failed.
    `record_done` takes over recording successes (the batching worker passes its buffer); `observe` hears
    (queue, outcome) of each job: done, retry, failed or crashed."""
    outcome = "done"
    # The job's log records (and the jobs it queues) carry the id of the request that started it all.
    token = REQUEST_ID.set(job.request_id or f"job-{job.id}")
    try:
        outcome = await _run_and_record(db, handler, job, record_done)
    except Exception:
        # Recording the outcome failed: the database is away. The job is still `running` under our lease
        # (`locked_until`), and `claim` takes a running job whose lease is over as due: it runs again once
        # the lease ends, here or in another process (or sooner through `WorkerHeartbeat` if this process
        # dies). So nothing is lost; the job may run twice, which every handler allows (at-least-once).
        outcome = "retry"
        logger.warning(
            "job %s (%s): recording its outcome failed; it runs again when its lease ends",
            job.id,
            job.queue,
            exc_info=True,
        )
    finally:
        REQUEST_ID.reset(token)
    if observe is not None:
        observe(job.queue, outcome)


async def _run_and_record(
    db: Database, handler: JobHandler, job: ClaimedJob, record_done: DoneRecorder | None
) -> str:
    """Run the handler and record its outcome; returns the outcome. Raises only when recording fails."""
    try:
        status = await handler(job)
    except RetryJob as retry:
        await mark_retry(db, job.id, retry)
        return "retry"
    except JobFailed as failure:
        logger.info("job %s (%s) failed: %s", job.id, job.queue, failure.error)
        await mark_failed(db, job.id, error=failure.error, status=failure.status)
        return "failed"
    except Exception as error:  # a handler bug must not kill the worker
        cause = transient_cause(error)
        if cause is not None:
            retry = transient_retry(job, f"{cause}: {type(error).__name__}: {error}")
            logger.warning("job %s (%s) retried at %s: %s", job.id, job.queue, retry.at, retry.error)
            await mark_retry(db, job.id, retry)
            return "retry"
        logger.exception("job %s (%s) crashed", job.id, job.queue)
        await mark_failed(db, job.id, error=f"{type(error).__name__}: {error}")
        return "crashed"
    if record_done is None:
        await mark_done(db, job.id, status=status)
    else:
        await record_done(job.id, status)
    return "done"


class QueueWorker:
    """Runs the jobs of one queue with bounded concurrency, claiming ahead and completing in batches."""

    def __init__(
        self,
        db: Database,
        queue: str,
        handler: JobHandler,
        *,
        concurrency: int = 8,
        prefetch: int | None = None,
        poll_interval: float = 1.0,
        lease: timedelta = timedelta(minutes=5),
        flush_interval: float = 0.1,
        flush_size: int = 200,
        pace: Callable[[], Awaitable[None]] | None = None,
        observe: Observer | None = None,
        slot_timeout: float | None = None,
        lingering: int = 0,
    ) -> None:
        self.db = db
        self.queue = queue
        self.handler = handler
        self.concurrency = concurrency
        self.prefetch = 3 * concurrency if prefetch is None else prefetch
        self.poll_interval = poll_interval
        self.lease = lease
        self.flush_interval = flush_interval
        self.flush_size = flush_size
        # Awaited before each claim: lets the process's HTTP side go first (see `inbox.queueing.ClaimPacer`).
        self.pace = pace
        self.observe = observe  # hears each job's outcome (the process's metrics)
        # A job still running after `slot_timeout` seconds gives its slot to the next one and goes on
        # "lingering", up to `lingering` such jobs at once (beyond that they keep their slots). For deliveries:
        # a remote that never answers holds a request until its deadline (30 s), and a handful of dead hosts in
        # a fan-out to thousands would otherwise hold every slot and stall the deliveries to the healthy ones.
        self.slot_timeout = slot_timeout
        self.lingering = lingering
        self._lingering: set[asyncio.Task[None]] = set()
        self.name = worker_name()
        self._wake = asyncio.Event()
        self._running: set[asyncio.Task[None]] = set()
        self._waiting: deque[tuple[ClaimedJob, float]] = deque()  # with the monotonic time of the claim
        self._stale: list[int] = []
        self._drained = False
        self._last_claim = 0.0
        self._done: list[tuple[int, int | None]] = []
        self._flush_needed = asyncio.Event()
        # Claims and flushes take turns here rather than inside SQLite, whose busy handler sleeps (1, 2, 5,
        # 10 ms…) when two write transactions of one process collide.
        self._writing = asyncio.Lock()

    def wake(self) -> None:
        """Ask the loop to look for jobs now (called after a commit that enqueued some)."""
        self._drained = False
        self._wake.set()

    async def _record_done(self, job_id: int, status: int | None) -> None:
        self._done.append((job_id, status))
        if len(self._done) >= self.flush_size:
            self._flush_needed.set()

    async def _locked(self, operation: Awaitable[T]) -> T:
        async with self._writing:
            return await operation

    async def _write(self, operation: Awaitable[T]) -> T:
        """Run one write transaction of this worker: one at a time (see `_writing`), and never cut short. A
        cancelled caller (the worker is stopping) waits for the transaction to end before the cancellation
        goes on: cancelling a statement midway can leave its pooled connection unusable."""
        write = asyncio.ensure_future(self._locked(operation))
        try:
            return await asyncio.shield(write)
        except asyncio.CancelledError:
            await asyncio.wait([write])
            raise

    async def flush(self) -> None:
        """Write the buffered successes now (kept for the next write if this one fails)."""
        done, self._done = self._done, []
        if not done:
            return
        try:
            await self._write(mark_done_many(self.db, done))
        except asyncio.CancelledError:
            self._done = done + self._done  # stop() flushes them again; done twice is harmless
            raise
        except Exception:  # kept; if they are never written the jobs stay leased and run again: at-least-once
            logger.exception("recording %d finished %s jobs failed", len(done), self.queue)
            self._done = done + self._done

    async def _flusher(self) -> None:
        while True:
            await _wait(self._flush_needed, self.flush_interval)
            if not self._flush_needed.is_set() and self._claiming_recently():
                continue  # the next claim, due soon, takes the successes along
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

    def _claiming_recently(self) -> bool:
        return not self._drained and time.monotonic() - self._last_claim < self.flush_interval

    def _room(self) -> int:
        """How many more jobs may be claimed: free slots plus free places in the waiting line."""
        return self.concurrency + self.prefetch - len(self._running) - len(self._waiting)

    def _wants_claim(self) -> bool:
        # Claim when the waiting line is down to a quarter (fewer, larger claims), or when idle.
        return len(self._waiting) <= self.prefetch // 4 or not (self._running or self._waiting)

    async def _claim_loop(self) -> None:
        while True:
            self._wake.clear()  # before claiming: a wake-up during the claim must not be lost
            if self._stale:
                stale, self._stale = self._stale, []
                await self._release(stale)
            room = self._room()
            if room > 0 and self._wants_claim():
                if self.pace is not None:
                    await self.pace()
                    room = self._room()
                jobs = await self._claim(room)
                # Fewer than asked: nothing more is due. Finished jobs then stop asking for claims (no empty
                # claim per finished job at the tail of a fan-out) until wake() or the next poll.
                self._drained = len(jobs) < room
                self._start_waiting()
                if not self._drained:
                    continue
            await _wait(self._wake, self.poll_interval)

    async def _claim(self, room: int) -> list[ClaimedJob]:
        """Claim up to `room` jobs into the waiting line, recording the successes buffered so far with them."""
        done, self._done = self._done, []
        self._last_claim = time.monotonic()
        operation = claim(self.db, self.queue, worker_id=self.name, limit=room, lease=self.lease, done=done)
        write = asyncio.ensure_future(self._locked(operation))
        try:
            await asyncio.shield(write)
        except asyncio.CancelledError:  # as in `_write`, but what was claimed is kept for stop() to give back
            await asyncio.wait([write])
            self._take_claim(write, done)
            raise
        except Exception:
            pass
        return self._take_claim(write, done)

    def _take_claim(
        self, write: asyncio.Future[list[ClaimedJob]], done: list[tuple[int, int | None]]
    ) -> list[ClaimedJob]:
        if write.exception() is not None:
            logger.error("claiming %s jobs failed", self.queue, exc_info=write.exception())
            self._done = done + self._done  # written with the next claim or flush: at-least-once meanwhile
            return []
        jobs = write.result()
        claimed_at = time.monotonic()
        self._waiting.extend((job, claimed_at) for job in jobs)
        return jobs

    def _start_waiting(self) -> None:
        too_old = time.monotonic() - self.lease.total_seconds() / 2
        while self._waiting and len(self._running) < self.concurrency:
            job, claimed_at = self._waiting.popleft()
            if claimed_at < too_old:
                self._stale.append(job.id)
                self._wake.set()
                continue
            task = asyncio.create_task(run_one(self.db, self.handler, job, self._record_done, self.observe))
            self._running.add(task)
            task.add_done_callback(self._finished)
            if self.slot_timeout is not None and self.lingering > 0:
                asyncio.get_running_loop().call_later(self.slot_timeout, self._linger, task)

    def _linger(self, task: asyncio.Task[None]) -> None:
        """`task` has run past `slot_timeout`: let it go on outside the slots, if there is room for it."""
        if task.done() or task not in self._running or len(self._lingering) >= self.lingering:
            return
        self._running.discard(task)
        self._lingering.add(task)
        self._start_waiting()
        if not self._drained and self._room() > 0 and self._wants_claim():
            self._wake.set()

    async def _release(self, job_ids: list[int]) -> None:
        try:
            await self._write(release(self.db, job_ids))
        except Exception:  # their leases run out instead
            logger.exception("giving back %d waiting %s jobs failed", len(job_ids), self.queue)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._lingering.discard(task)
        self._start_waiting()
        if not self._drained and self._room() > 0 and self._wants_claim():
            self._wake.set()

    async def stop(self) -> None:
        """Give back the jobs not started, wait for running ones to finish and record them (their leases
        protect them if we are killed)."""
        unstarted = self._stale + [job.id for job, _ in self._waiting]
        self._stale, self._waiting = [], deque()
        if unstarted:
            await self._release(unstarted)
        if self._running or self._lingering:
            await asyncio.gather(*self._running, *self._lingering, return_exceptions=True)
        await self.flush()


class FinishedJobPurger:
    """Deletes done jobs once they are `keep` old, every `every` seconds, so the jobs table holds recent work
    only. The inbox deduplicates deliveries by their job's activity id, so `keep` must outlast the signature
    date window (an hour by default): a replay older than that fails verification anyway. Failed jobs stay
    (their forensic trail)."""

    def __init__(self, db: Database, *, keep: timedelta = timedelta(days=2), every: float = 3600.0) -> None:
        self.db = db
        self.keep = keep
        self.every = every

    async def run(self) -> None:
        """Purge now, then every `every` seconds, until cancelled."""
        while True:
            try:
                purged = await purge_finished(self.db, older_than=self.keep)
                if purged:
                    logger.info("purged %d finished jobs", purged)
            except Exception:  # the next round tries again
                logger.exception("purging finished jobs failed")
            await asyncio.sleep(self.every)

    async def stop(self) -> None:
        """Nothing to hand back: a purge cut short is finished by the next one."""


class WorkerHeartbeat:
    """Says every `every` seconds that this process's workers are alive, and takes back the running jobs of
    worker processes that are not: gone from this host, or silent for `silent_for` on any host (see
    `storage.recovery`). So a worker process killed anywhere has its jobs finished by another within about
    `silent_for`, not after their lease."""

    def __init__(
        self, db: Database, *, every: float = 10.0, silent_for: timedelta = timedelta(seconds=60)
    ) -> None:
        self.db = db
        self.every = every
        self.silent_for = silent_for
        self.name = worker_name()

    async def run(self) -> None:
        """Beat and reclaim now, then every `every` seconds, until cancelled."""
        while True:
            try:
                await beat(self.db, self.name)
                released = await release_orphaned_jobs(self.db)
                released += await release_jobs_of_silent_workers(self.db, silent_for=self.silent_for)
                if released:
                    logger.warning("took back %d running jobs of worker processes that died", released)
            except Exception:  # the next round tries again; a missed beat or two is within `silent_for`
                logger.exception("worker heartbeat failed")
            await asyncio.sleep(self.every)

    async def stop(self) -> None:
        """A clean stop: our workers have handed their jobs back, so the heartbeat row can go."""
        try:
            await forget(self.db, self.name)
        except Exception:  # it goes silent instead, and is forgotten a day later
            logger.exception("could not remove the worker heartbeat")


async def _wait(event: asyncio.Event, timeout: float) -> None:
    """Wait until `event` is set or `timeout` passes. Not `asyncio.wait_for`: on Python 3.11 it can swallow a
    cancellation that lands as the timeout fires, and a stopping worker would then loop forever."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await event.wait()


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
