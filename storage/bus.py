"""The post-commit event bus: publish/subscribe for streaming and for ending streams whose token died.

Publish only after the transaction that made the change has committed, so a subscriber never sees an event
for rows it cannot read. Events carry ids, never rendered rows: each subscriber reads what it shows.

`EventBus` delivers within this process (SQLite: one process serves everything). Its subclass
`storage.pg_bus.PostgresEventBus` carries every event through PostgreSQL `NOTIFY` to every process on the
database, this one included, and delivers what it hears with the same `deliver`;
`storage.pg_bus.make_event_bus` chooses by the database URL.

Subscribers get a bounded queue; a full queue loses the event rather than slowing the publisher (streaming
keeps its own per-connection bound and drops a connection that falls behind: `clientapi.stream_hub`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

QUEUE_SIZE = 1000


@dataclass(frozen=True)
class Event:
    """Something that happened: `topic` such as "user:123", "list:7", "public", "authority"."""

    topic: str
    kind: str  # update | notification | delete | status.update | changed
    payload: dict[str, Any] = field(default_factory=dict)


class EventBus:
    """Fans events out to this process's subscribers of their topic."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[Event]]] = {}

    async def start(self) -> None:
        """Open what the bus needs (nothing in-process)."""

    async def close(self) -> None:
        """Send what is still pending and release the bus's resources."""

    def publish(self, event: Event) -> None:
        """Deliver `event` to every subscriber of its topic, never blocking."""
        self.publish_all([event])

    def publish_all(self, events: Iterable[Event]) -> None:
        """Publish events gathered during a transaction, after it committed."""
        self.deliver(events)

    def deliver(self, events: Iterable[Event]) -> None:
        """Hand `events` to this process's subscribers."""
        for event in events:
            for queue in self._subscribers.get(event.topic, ()):
                try:
                    queue.put_nowait(event)
                except asyncio.QueueFull:
                    logger.warning("bus subscriber of %s is full; event dropped", event.topic)

    def attach(self, topic: str, queue: asyncio.Queue[Event]) -> None:
        """Let `queue` receive the events of `topic` from now on."""
        self._subscribers.setdefault(topic, set()).add(queue)

    def detach(self, topic: str, queue: asyncio.Queue[Event]) -> None:
        """Stop `queue` receiving the events of `topic`."""
        subscribers = self._subscribers.get(topic)
        if subscribers is not None:
            subscribers.discard(queue)
            if not subscribers:
                del self._subscribers[topic]

    @asynccontextmanager
    async def subscribe(
        self, *topics: str, queue_size: int = QUEUE_SIZE
    ) -> AsyncIterator[asyncio.Queue[Event]]:
        """A queue receiving the events of `topics` while the context is open."""
        queue: asyncio.Queue[Event] = asyncio.Queue(queue_size)
        for topic in topics:
            self.attach(topic, queue)
        try:
            yield queue
        finally:
            for topic in topics:
                self.detach(topic, queue)
