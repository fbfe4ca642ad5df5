"""The PostgreSQL event bus: events packed into NOTIFY payloads under PostgreSQL's limit and read back in
order; two buses on one database hear each other's events exactly once, their own included."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg
import pytest

from storage.bus import Event
from storage.pg_bus import MAX_PAYLOAD_BYTES, PostgresEventBus, asyncpg_dsn, pack, unpack
from support.databases import postgres_database


def test_a_large_fan_out_is_packed_under_the_limit_in_order() -> None:
    events = [Event(f"user:{1000000000000 + reader}", "update", {"status_id": 42}) for reader in range(3000)]
    events += [Event("public", "update", {"status_id": 42}), Event("user:7", "delete", {"status_id": 41})]
    payloads = pack(events)
    assert len(payloads) > 1 and all(len(payload.encode()) < MAX_PAYLOAD_BYTES for payload in payloads)
    assert [event for payload in payloads for event in unpack(payload)] == events


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    async with postgres_database() as url:
        yield url


async def _next(queue: asyncio.Queue[Event]) -> Event:
    return await asyncio.wait_for(queue.get(), 10)  # a bound for a hung test only


async def test_two_buses_hear_each_other_once(postgres_url: str) -> None:
    first, second = PostgresEventBus(postgres_url), PostgresEventBus(postgres_url)
    await first.start()
    await second.start()
    try:
        async with first.subscribe("user:1") as heard_first, second.subscribe("user:1") as heard_second:
            many = [Event("user:1", "update", {"status_id": index}) for index in range(500)]
            first.publish_all(many)
            second.publish(Event("user:1", "delete", {"status_id": 0}))
            for queue in (heard_first, heard_second):
                # Each bus's events arrive in the order published; another's may come between them.
                got = [await _next(queue) for _ in range(501)]
                assert [event for event in got if event.kind == "update"] == many
                assert [event for event in got if event.kind == "delete"] == [
                    Event("user:1", "delete", {"status_id": 0})
                ]
            first.publish(Event("user:1", "update", {"status_id": 999}))
            for queue in (heard_first, heard_second):  # nothing was heard twice: the next is the new one
                assert (await _next(queue)).payload == {"status_id": 999}
    finally:
        await first.close()
        await second.close()


async def test_the_bus_comes_back_after_its_connections_are_cut(postgres_url: str) -> None:
    """A server restart or a killed backend: the bus opens its connections again and events flow once more
    (what was published while a connection was down is lost, as streaming clients expect)."""
    bus = PostgresEventBus(postgres_url)
    await bus.start()
    admin = await asyncpg.connect(asyncpg_dsn(postgres_url))
    try:
        async with bus.subscribe("user:1") as heard:
            for connection in (bus._listener, bus._sender):
                assert connection is not None
                await admin.execute("SELECT pg_terminate_backend($1)", connection.get_server_pid())
            for attempt in range(100):  # until both connections are back: earlier events may be lost
                bus.publish(Event("user:1", "update", {"status_id": attempt}))
                with contextlib.suppress(TimeoutError):
                    got = await asyncio.wait_for(heard.get(), 0.2)
                    assert got.kind == "update"
                    break
            else:
                raise AssertionError("the bus never came back")
    finally:
        await admin.close()
        await bus.close()
