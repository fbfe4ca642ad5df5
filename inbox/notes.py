"""Storing received statuses with group commit: the `Create` jobs that the inbox worker runs side by side
share one write transaction.

Each job does its own reading first (converting the object, finding the parent of a reply), then hands the
prepared status to `NoteWriter.store`. Statuses handed in while a batch is being stored wait for the next
one. A batch is stored in two steps:

1. Reads, on a read session (WAL readers never wait for the writer): the domain policy of each author's
   host (suspended / not allowed → `DomainRefused`; reject-media → attachments and custom emojis dropped) and each author's
   moderation state (suspended → `Rejected`; silenced → only its local followers are notified) — these are
   authoritative, since the job's early checks may rest on short-lived caches —, the mentioned accounts,
   and every status's audience (`storage.fanout_batch.remote_audiences`).
2. One write transaction with only the writes: statuses, mentions, tags, media and counters
   (`webfinger.resolve.insert_notes`), home-feed rows and notifications
   (`storage.fanout_batch.fan_out_remote_statuses`) — about seven statements for the whole batch.

On SQLite every statement is a few thread hand-offs made while holding the single writer, and the receive
path needs that writer (and the event loop) to queue deliveries, which hold HTTP requests open. So the
writer is taken through the receive path's lock (`GroupCommitQueue.writer`), and while deliveries keep
arriving (`GroupCommitQueue.quiet`) a batch first waits `YIELD_FACTOR` times as long as the previous batch
took, at most `PATIENCE_SECONDS`: under a burst the worker takes about a fifth of the time and catches up
when the burst is over; under light load it hardly waits. If a shared transaction fails, each status is
retried alone, so one bad status fails only its own job. Events are published after commit.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field, replace

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from apub.hosts import host_of
from inbox.errors import DomainRefused, Rejected
from inbox.policy import refuse_by_policy
from inbox.queueing import inbox_queue
from storage.context import Context
from storage.fanout_batch import NewRemoteStatus, RemoteAudience, fan_out_remote_statuses, remote_audiences
from storage.models import Account
from storage.preview_cards import local_host
from storage.quotes import notify_quoted
from webfinger.resolve import (
    PreparedNote,
    conversation_of,
    domain_policy,
    insert_notes,
    mentioned_account_ids,
    without_media,
)

logger = logging.getLogger(__name__)

MAX_BATCH = 64
PATIENCE_SECONDS = 0.25  # the longest a ready batch yields the writer to a stream of deliveries
YIELD_FACTOR = 4  # while deliveries keep coming, a batch waits this many times as long as the last one took
_WRITER_CACHE = "inbox.note_writer"


@dataclass
class _Pending:
    prepared: PreparedNote
    done: asyncio.Future[None]


@dataclass
class _Plan:
    """What step 1 decided: per status, why it is refused (else None), and the accepted ones' audiences."""

    refusals: list[Exception | None]
    accepted: list[PreparedNote]
    audiences: list[RemoteAudience]


@dataclass
class NoteWriter:
    """Collects prepared remote statuses and stores them in shared transactions (one flusher at a time)."""

    ctx: Context
    pending: list[_Pending] = field(default_factory=list)
    flusher: asyncio.Task[None] | None = None
    last_batch_seconds: float = 0.0

    async def store(self, prepared: PreparedNote) -> None:
        """Store one status with its fan-out; returns once committed (a duplicate is a no-op). Raises
        Rejected or DomainRefused when its author or domain is refused by then."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.pending.append(_Pending(prepared, done))
        if self.flusher is None or self.flusher.done():
            self.flusher = asyncio.create_task(self._flush_all())
        await done

    async def _flush_all(self) -> None:
        loop = asyncio.get_running_loop()
        while self.pending:
            patience = min(PATIENCE_SECONDS, YIELD_FACTOR * self.last_batch_seconds)
            await inbox_queue(self.ctx).quiet(patience=patience)
            batch, self.pending = self.pending[:MAX_BATCH], self.pending[MAX_BATCH:]
            outcomes: list[Exception | None]
            started = loop.time()
            try:
                outcomes = await self._store([item.prepared for item in batch])
            except Exception as error:
                if len(batch) == 1:
                    outcomes = [error]
                else:  # one status must not sink the others: each is tried alone
                    logger.warning("storing %d statuses together failed; storing each alone", len(batch))
                    outcomes = await self._one_by_one(batch)
            self.last_batch_seconds = loop.time() - started
            for item, outcome in zip(batch, outcomes, strict=True):
                if item.done.done():
                    continue
                if outcome is None:
                    item.done.set_result(None)
                else:
                    item.done.set_exception(outcome)

    async def _one_by_one(self, batch: list[_Pending]) -> list[Exception | None]:
        outcomes: list[Exception | None] = []
        for item in batch:
            try:
                outcomes.extend(await self._store([item.prepared]))
            except Exception as error:
                outcomes.append(error)
        return outcomes

    async def _store(self, batch: list[PreparedNote]) -> list[Exception | None]:
        """Store a batch; per status None (stored, or a duplicate) or why it was refused."""
        async with self.ctx.db.read() as session:
            plan = await _plan(self.ctx, session, batch)
        if not plan.accepted:
            return plan.refusals
        async with inbox_queue(self.ctx).writer, self.ctx.db.transaction() as session:
            inserted = await insert_notes(session, plan.accepted, local_host=local_host(self.ctx))
            placed = [
                (status_id, audience)
                for status_id, audience in zip(inserted, plan.audiences, strict=True)
                if status_id is not None
            ]
            events = await fan_out_remote_statuses(session, placed)
            events += await notify_quoted(
                session,
                [
                    status_id
                    for status_id, prepared in zip(inserted, plan.accepted, strict=True)
                    if status_id is not None and prepared.quote is not None
                ],
            )
        self.ctx.bus.publish_all(events)
        return plan.refusals


async def _plan(ctx: Context, session: AsyncSession, batch: list[PreparedNote]) -> _Plan:
    policies = {}
    for host in {host_of(prepared.author.uri) or "" for prepared in batch}:
        policies[host] = await domain_policy(ctx, session, host)
    states = {
        account_id: (suspended_at, silenced_at)
        for account_id, suspended_at, silenced_at in await session.execute(
            select(Account.id, Account.suspended_at, Account.silenced_at).where(
                Account.id.in_({prepared.author.id for prepared in batch})
            )
        )
    }
    refusals: list[Exception | None] = []
    accepted: list[PreparedNote] = []
    for prepared in batch:
        host = host_of(prepared.author.uri) or ""
        try:
            refuse_by_policy(host, policies[host])
        except DomainRefused as refusal:
            refusals.append(refusal)
            continue
        if prepared.author.id not in states or states[prepared.author.id][0] is not None:
            refusals.append(Rejected(f"{prepared.author.uri} is suspended"))
            continue
        refusals.append(None)
        if policies[host].reject_media:
            prepared = replace(prepared, note=without_media(prepared.note), attachments=[])
        accepted.append(prepared)
    unresolved = [index for index, prepared in enumerate(accepted) if prepared.mention_account_ids is None]
    looked_up = await mentioned_account_ids(
        session, [accepted[index].note.mention_uris for index in unresolved]
    )
    for index, account_ids in zip(unresolved, looked_up, strict=True):
        accepted[index] = replace(accepted[index], mention_account_ids=account_ids)
    audiences = await remote_audiences(
        session,
        [
            NewRemoteStatus(
                author_id=prepared.author.id,
                visibility=prepared.note.visibility,
                mention_account_ids=prepared.mention_account_ids or [],
                thread=conversation_of(prepared) or prepared.note.uri,
                hashtags=prepared.note.hashtags,
                in_reply_to_uri=prepared.note.in_reply_to_uri,
                author_silenced=states[prepared.author.id][1] is not None
                or policies[host_of(prepared.author.uri) or ""].silenced,
            )
            for prepared in accepted
        ],
    )
    return _Plan(refusals, accepted, audiences)


def note_writer(ctx: Context) -> NoteWriter:
    """The note writer of this context (one per process and event loop)."""
    writer = ctx.caches.get(_WRITER_CACHE)
    if writer is None:
        writer = ctx.caches[_WRITER_CACHE] = NoteWriter(ctx)
    return writer
