"""The `Context`: everything a request handler or worker needs, built once in the lifespan and passed down.

It replaces module-level globals: settings, the database, the event bus, the federation HTTP client and the
signature key lookup all travel in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from storage.bus import EventBus
from storage.db import Database
from storage.job_wakeups import jobs_queued, wakes_other_processes
from storage.metrics import Metrics
from storage.settings import Settings

if TYPE_CHECKING:
    from apub.client import FederationClient


@dataclass
class Context:
    """Shared resources of one running instance."""

    settings: Settings
    db: Database
    bus: EventBus = field(default_factory=EventBus)
    http: FederationClient | None = None
    # A `apub.httpsig` KeyLookup bound to our storage; set by the composition root.
    key_lookup: Any = None
    # Per-remote-host memory of which signature scheme it accepts (apub.httpsig SchemeMemory).
    scheme_memory: Any = None
    # This process's Prometheus instruments.
    metrics: Metrics = field(default_factory=Metrics)
    # Per-process caches that components may hang off the context (e.g. the instance actor row id).
    caches: dict[str, Any] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return self.settings.base_url

    @property
    def domain(self) -> str:
        return self.settings.domain

    def wake_worker(self, queue: str) -> None:
        """Ask a worker of `queue` to look for jobs now, after a commit that queued some: this process's own,
        or, in a process running none, for a post's queues, those of the other processes, through the bus
        (`storage.job_wakeups`)."""
        worker = self.caches.get("workers", {}).get(queue)
        if worker is not None:
            worker.wake()
        elif wakes_other_processes(queue):
            self.bus.publish(jobs_queued(queue))
