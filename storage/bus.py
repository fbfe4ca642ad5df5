"""The post-commit event bus: in-process publish/subscribe for streaming and for waking workers.

Publish only after the transaction that made the change has committed, so a subscriber never sees an event
for rows it cannot read. Subscribers get a bounded queue; a slow subscriber loses events rather than
slowing the publisher (streaming clients re-sync from the REST API).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """Something that happened: `topic` such as "user:123", "public:local", "jobs:deliver"."""

    topic: str
    kind: str  # update | notification | delete | status.update | wake
    payload: dict[str, Any] = field(default_factory=dict)


class EventBus:
    """Fans events out to subscribers of their topic."""

    def __init__(self, *, queue_size: int = 1000) -> None:
        self._queue_size = queue_size
        self._subscribers: dict[str, set[asyncio.Queue[Event]]] = {}

    def publish(self, event: Event) -> None:
        """Deliver `event` to every subscriber of its topic, never blocking."""
        for queue in self._subscribers.get(event.topic, ()):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                logger.warning("bus subscriber of %s is full; event dropped", event.topic)

    def publish_all(self, events: list[Event]) -> None:
        """Publish events gathered during a transaction, after it committed."""
        for event in events:
            self.publish(event)

    @asynccontextmanager
    async def subscribe(self, *topics: str) -> AsyncIterator[asyncio.Queue[Event]]:
        """A queue receiving the events of `topics` while the context is open."""
        queue: asyncio.Queue[Event] = asyncio.Queue(self._queue_size)
        for topic in topics:
            self._subscribers.setdefault(topic, set()).add(queue)
        try:
            yield queue
        finally:
            for topic in topics:
                subscribers = self._subscribers.get(topic)
                if subscribers is not None:
                    subscribers.discard(queue)
                    if not subscribers:
                        del self._subscribers[topic]
