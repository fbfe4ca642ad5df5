"""The event bus across processes: PostgreSQL `LISTEN` / `NOTIFY`.

With PostgreSQL, several `plein serve` and `plein worker` processes (and the `plein` CLI) share one database;
what one of them commits, a stream held by another must hear. Every process listens on one channel, and a
publish is a `NOTIFY` on it, heard by every listening process — this one included, so each process
delivers an event exactly once and the same way, whoever published it.

Payloads carry ids only (statuses, notifications, lists, announcements); each process reads the rows and
renders them itself. A NOTIFY payload must stay under 8000 bytes, so published events are packed: a run of
events with the same kind and payload (one status for its many readers) travels as one entry with its
topics, and entries fill as many notifications as they need. Notifications from one session arrive in the
order they were sent, so one process's events keep their order everywhere.

Sending runs in one task with its own connection, so `publish_all` never waits (it is called right after a
commit, on the request's path). A lost connection is opened again; events published while it was down are
lost, as streaming clients expect of a reconnection (they re-read the REST API).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg
import orjson
from sqlalchemy.engine import make_url

from storage.bus import Event, EventBus

logger = logging.getLogger(__name__)

CHANNEL = "plein_events"
MAX_PAYLOAD_BYTES = 7800  # PostgreSQL refuses 8000 bytes or more
TOPICS_PER_ENTRY = (
    100  # topics such as "user:<id>" are at most ~30 bytes: an entry stays well under the limit
)
RECONNECT_SECONDS = 1.0


BUS_CONNECTIONS = 2  # what a process holds open besides its pool: the LISTEN connection and the NOTIFY sender


def pack(events: Sequence[Event]) -> list[str]:
    """`events` as NOTIFY payloads, in order: JSON arrays of [kind, payload, [topics]] entries."""
    entries: list[list[Any]] = []
    for event in events:
        last = entries[-1] if entries else None
        if (
            last is not None
            and last[0] == event.kind
            and last[1] == event.payload
            and len(last[2]) < TOPICS_PER_ENTRY
        ):
            last[2].append(event.topic)
        else:
            entries.append([event.kind, event.payload, [event.topic]])
    payloads: list[str] = []
    current: list[bytes] = []
    size = 2
    for entry in entries:
        encoded = orjson.dumps(entry)
        if current and size + len(encoded) + 1 > MAX_PAYLOAD_BYTES:
            payloads.append(b"[" + b",".join(current) + b"]")
            current, size = [], 2
        current.append(encoded)
        size += len(encoded) + 1
    if current:
        payloads.append(b"[" + b",".join(current) + b"]")
    return [payload.decode() for payload in payloads]


def unpack(payload: str) -> list[Event]:
    """The events of one NOTIFY payload made by `pack`."""
    return [Event(topic, kind, body) for kind, body, topics in orjson.loads(payload) for topic in topics]


def asyncpg_dsn(database_url: str) -> str:
    """The libpq-style address asyncpg takes, from the SQLAlchemy URL (`postgresql+asyncpg://…`)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


class PostgresEventBus(EventBus):
    """Publishes through NOTIFY and delivers what it hears on LISTEN, to this process's subscribers."""

    def __init__(self, database_url: str, channel: str = CHANNEL) -> None:
        super().__init__()
        self._dsn = asyncpg_dsn(database_url)
        self._channel = channel
        self._pending: list[Event] = []
        self._wake = asyncio.Event()
        self._listener: asyncpg.Connection | None = None
        self._sender: asyncpg.Connection | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False

    async def start(self) -> None:
        await self._listen()
        self._sender = await asyncpg.connect(self._dsn)
        self._tasks.append(asyncio.create_task(self._send_loop(), name="bus-notify"))

    def publish_all(self, events: Iterable[Event]) -> None:
        self._pending.extend(events)
        self._wake.set()

    async def close(self) -> None:
        self._closing = True
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(Exception):  # what was published last (a CLI's one event) still goes out
            await self._send_pending()
        for connection in (self._listener, self._sender):
            if connection is not None:
                with contextlib.suppress(Exception):
                    await connection.close(timeout=5)

    async def _listen(self) -> None:
        listener = await asyncpg.connect(self._dsn)
        await listener.add_listener(self._channel, self._heard)
        listener.add_termination_listener(self._listener_lost)
        self._listener = listener

    def _heard(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        try:
            events = unpack(payload)
        except (orjson.JSONDecodeError, ValueError, TypeError):
            logger.warning("bus: unreadable notification from backend %s", pid)
            return
        self.deliver(events)

    def _listener_lost(self, connection: Any) -> None:
        if not self._closing:
            logger.warning("bus: the LISTEN connection was lost; reconnecting")
            self._tasks.append(asyncio.create_task(self._relisten(), name="bus-relisten"))

    async def _relisten(self) -> None:
        while not self._closing:
            try:
                await self._listen()
                return
            except (OSError, asyncpg.PostgresError) as error:
                logger.warning("bus: cannot listen yet (%s)", error)
                await asyncio.sleep(RECONNECT_SECONDS)

    async def _send_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._send_pending()
            except Exception as error:  # a lost or broken connection, whatever asyncpg calls it: a new one
                logger.warning("bus: cannot notify (%r); reconnecting, events dropped", error)
                await self._reconnect_sender()

    async def _reconnect_sender(self) -> None:
        if self._sender is not None:
            self._sender.terminate()
            self._sender = None
        while not self._closing:
            try:
                self._sender = await asyncpg.connect(self._dsn)
                return
            except (OSError, asyncpg.PostgresError) as error:
                logger.warning("bus: cannot connect yet (%s)", error)
                await asyncio.sleep(RECONNECT_SECONDS)

    async def _send_pending(self) -> None:
        batch, self._pending = self._pending, []
        if not batch or self._sender is None:
            return
        for payload in pack(batch):
            await self._sender.execute("SELECT pg_notify($1, $2)", self._channel, payload)


def make_event_bus(database_url: str, schema: str = "") -> EventBus:
    """The bus for a database: NOTIFY across processes on PostgreSQL, in-process on SQLite.

    Channels are database-wide, not per schema: the domains of a multi-domain install (one schema each) each
    get a channel of their own, so no stream hears another domain's ids."""
    if make_url(database_url).get_backend_name() == "postgresql":
        return PostgresEventBus(database_url, f"{CHANNEL}_{schema}" if schema else CHANNEL)
    return EventBus()
