"""Queueing accepted deliveries with group commit.

Every accepted delivery becomes one `inbox` job, deduplicated by activity id. Deliveries that reach `put`
within a couple of event-loop turns of each other, or while a commit is in flight, share one write
transaction (`Database.run_batch`: on SQLite, inline on the event loop when the write lock is free), so a
burst costs a few commits instead of one each. The same transaction re-reads the domain policy of each
actor's host, authoritatively: a host suspended a moment ago gets 403, not a job.

The inbox worker gives way to deliveries, which hold HTTP requests open while queued jobs wait for nobody:
it claims jobs only once the receive path is `quiet`, or after a wait bounded by its own recent work
(`ClaimPacer`), and its batched writes (`inbox.notes`) take the same in-process `writer` lock as these
commits and wait for a quiet moment too, so the two never meet in SQLite's busy-wait.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from inbox.errors import DomainRefused
from inbox.policy import refuse_by_policy
from storage.context import Context
from storage.domains import read_domain_policy
from storage.queue import insert_jobs, job_row

INBOX_QUEUE = "inbox"
MAX_BATCH = 500
QUIET_SECONDS = 0.02  # no delivery for this long: the receive path is idle
GATHER_TURNS = 2  # event-loop turns a commit waits for more deliveries to join it
CLAIM_YIELD_FACTOR = 4  # while deliveries keep coming, the worker waits this many times as long as it worked
MAX_CLAIM_PATIENCE = 5.0  # seconds: the longest the worker waits for a quiet moment before claiming
_QUEUE_CACHE = "inbox.group_commit"


@dataclass
class _Pending:
    row: dict[str, Any]
    host: str
    done: asyncio.Future[None]


@dataclass
class GroupCommitQueue:
    """Collects inbox jobs and writes them in shared transactions (one flusher task at a time)."""

    ctx: Context
    pending: list[_Pending] = field(default_factory=list)
    flusher: asyncio.Task[None] | None = None
    writer: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_put: float = float("-inf")

    async def put(self, payload: dict[str, Any], *, dedupe_key: str, host: str) -> None:
        """Queue one job; returns once it is committed (raises DomainRefused if its host is refused)."""
        loop = asyncio.get_running_loop()
        self.last_put = loop.time()
        done: asyncio.Future[None] = loop.create_future()
        row = job_row(INBOX_QUEUE, payload, dedupe_key=dedupe_key, host=host)
        self.pending.append(_Pending(row, host, done))
        if self.flusher is None or self.flusher.done():
            self.flusher = asyncio.create_task(self._flush_all())
        await done

    async def quiet(self, *, patience: float, idle: float = QUIET_SECONDS) -> None:
        """Return once no delivery has arrived for `idle` seconds and none waits to be committed, or after
        `patience` seconds in any case (so a steady stream of deliveries cannot stall the caller)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + patience
        while True:
            now = loop.time()
            busy = bool(self.pending) or (self.flusher is not None and not self.flusher.done())
            quiet_for = now - self.last_put
            if (not busy and quiet_for >= idle) or now >= deadline:
                return
            await asyncio.sleep(min(max(idle - quiet_for, 0.002), deadline - now))

    async def _flush_all(self) -> None:
        # A commit costs about as much as twenty deliveries' rows again in fixed overhead (BEGIN, the policy
        # read, COMMIT): let the deliveries the event loop is already reading reach `put` and share it.
        for _ in range(GATHER_TURNS):
            await asyncio.sleep(0)
        while self.pending:
            batch, self.pending = self.pending[:MAX_BATCH], self.pending[MAX_BATCH:]
            try:
                refusals = await self._write(batch)
            except Exception as error:  # the requests answer 503 (database away: `storage.transient`) or 500
                for item in batch:
                    if not item.done.done():
                        item.done.set_exception(error)
                continue
            for item in batch:
                if item.done.done():
                    continue
                refusal = refusals.get(item.host)
                if refusal is not None:
                    item.done.set_exception(refusal)
                else:
                    item.done.set_result(None)
            self.ctx.wake_worker(INBOX_QUEUE)

    async def _write(self, batch: list[_Pending]) -> dict[str, Exception]:
        allowlist_mode = self.ctx.settings.federation.mode == "allowlist"

        def policy_check_and_insert(connection: Connection) -> dict[str, Exception]:
            refusals: dict[str, Exception] = {}
            for host in {item.host for item in batch}:
                try:
                    refuse_by_policy(
                        host, read_domain_policy(connection, host, allowlist_mode=allowlist_mode)
                    )
                except DomainRefused as refusal:
                    refusals[host] = refusal
            insert_jobs(connection, [item.row for item in batch if item.host not in refusals])
            return refusals

        async with self.writer:
            return await self.ctx.db.run_batch(policy_check_and_insert)


@dataclass
class ClaimPacer:
    """Paces the inbox worker of a process that also receives deliveries (`QueueWorker.pace`).

    Before each claim the worker waits for the receive path to be quiet, for at most CLAIM_YIELD_FACTOR
    times as long as it worked since its previous claim (at most MAX_CLAIM_PATIENCE): a sender waits on an
    open request for every delivery we have not answered, a queued job waits for nobody. During a burst the
    worker so takes about one turn in five and catches up once the burst is over; under a steady stream it
    still gets its share; with no deliveries arriving, as in a separate `plein worker` process, it never
    waits."""

    queue: GroupCommitQueue
    last_claim: float | None = None

    async def __call__(self) -> None:
        loop = asyncio.get_running_loop()
        worked = MAX_CLAIM_PATIENCE if self.last_claim is None else loop.time() - self.last_claim
        await self.queue.quiet(patience=min(MAX_CLAIM_PATIENCE, CLAIM_YIELD_FACTOR * worked))
        self.last_claim = loop.time()


def inbox_queue(ctx: Context) -> GroupCommitQueue:
    """The group-commit queue of this context (one per process and event loop)."""
    queue = ctx.caches.get(_QUEUE_CACHE)
    if queue is None:
        queue = ctx.caches[_QUEUE_CACHE] = GroupCommitQueue(ctx)
    return queue
