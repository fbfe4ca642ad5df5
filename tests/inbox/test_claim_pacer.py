"""The inbox worker of a process that also receives deliveries gives way to them (`ClaimPacer`): it claims
at once when no delivery is arriving, and during a stream waits a bounded time that grows with the work it
did since its previous claim."""

from __future__ import annotations

import asyncio
import contextlib
from typing import cast

import pytest

from inbox import queueing
from inbox.queueing import CLAIM_YIELD_FACTOR, ClaimPacer, GroupCommitQueue
from storage.context import Context


def _queue() -> GroupCommitQueue:
    # quiet() looks only at the deliveries in flight, never at the context.
    return GroupCommitQueue(cast(Context, None))


async def _stream_of_deliveries(queue: GroupCommitQueue) -> None:
    loop = asyncio.get_running_loop()
    while True:
        queue.last_put = loop.time()
        await asyncio.sleep(0.002)


async def _timed(pacer: ClaimPacer) -> float:
    loop = asyncio.get_running_loop()
    started = loop.time()
    await pacer()
    return loop.time() - started


async def test_claims_at_once_when_no_delivery_arrives() -> None:
    pacer = ClaimPacer(_queue())
    assert await _timed(pacer) < queueing.QUIET_SECONDS + 0.05
    assert await _timed(pacer) < queueing.QUIET_SECONDS + 0.05


async def test_during_a_stream_waits_in_proportion_to_its_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queueing, "MAX_CLAIM_PATIENCE", 0.4)
    queue = _queue()
    pacer = ClaimPacer(queue)
    stream = asyncio.create_task(_stream_of_deliveries(queue))
    await asyncio.sleep(0.01)  # deliveries are arriving
    try:
        first = await _timed(pacer)  # no previous claim: the longest wait
        assert 0.4 <= first < 1.5
        await asyncio.sleep(0.03)  # the worker works for 30 ms after its claim
        second = await _timed(pacer)
        assert 0.03 * CLAIM_YIELD_FACTOR * 0.9 <= second < 0.4
    finally:
        stream.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await stream


async def test_claims_once_the_stream_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queueing, "MAX_CLAIM_PATIENCE", 5.0)
    queue = _queue()
    stream = asyncio.create_task(_stream_of_deliveries(queue))
    waiting = asyncio.create_task(ClaimPacer(queue)())
    await asyncio.sleep(0.1)
    assert not waiting.done()
    stream.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await stream
    await asyncio.wait_for(waiting, 1.0)  # well before the five seconds of patience
