"""The process's Prometheus instruments, in a registry of its own (built with the Context, never at import).

Counters are bumped where things happen (`http_requests` by the access log, `jobs` by the queue workers,
`inbox` by the inbox route); what the database or a component already knows is read when scraped instead:
queue depth and age, paused delivery hosts (`plein.metrics_route`), outbound fetches and the connection pool
(the collectors below), so nothing is counted twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

# Requests are mostly milliseconds; streaming connections last hours and are counted apart.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The instruments of one process."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.http_requests = Counter(
            "plein_http_requests",
            "HTTP requests answered, by route",
            ["route", "method", "status"],
            registry=registry,
        )
        self.http_latency = Histogram(
            "plein_http_request_duration_seconds",
            "Time to answer an HTTP request (streaming excluded), by route",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.streaming_connections = Gauge(
            "plein_streaming_connections", "Open streaming connections", ["protocol"], registry=registry
        )
        self.inbox = Counter(
            "plein_inbox_deliveries",
            "Activities delivered to our inboxes: accepted, or the reason they were refused",
            ["outcome"],
            registry=registry,
        )
        self.jobs = Counter(
            "plein_jobs",
            "Jobs run by this process's workers, by queue and outcome",
            ["queue", "outcome"],
            registry=registry,
        )
        self.queue_jobs = Gauge(
            "plein_queue_jobs",
            "Jobs in the queue table, by queue and state",
            ["queue", "state"],
            registry=registry,
        )
        self.queue_oldest_due = Gauge(
            "plein_queue_oldest_due_seconds",
            "How long the oldest due pending job of each queue has waited",
            ["queue"],
            registry=registry,
        )
        self.hosts_paused = Gauge(
            "plein_delivery_host_paused",
            "Remote hosts whose circuit breaker holds deliveries back (1 per paused host)",
            ["host"],
            registry=registry,
        )

        self.relays = Gauge(
            "plein_relay_state",
            "Subscribed relays by inbox and state (1 per relay)",
            ["relay", "state"],
            registry=registry,
        )
        self.relay_activities = Gauge(
            "plein_relay_activities",
            "Activities taken in from (received) and queued for (sent) each subscribed relay",
            ["relay", "direction"],
            registry=registry,
        )

    def job_outcome(self, queue: str, outcome: str) -> None:
        """For `storage.worker.QueueWorker(observe=…)`."""
        self.jobs.labels(queue, outcome).inc()

    def watch(
        self,
        name: str,
        read: Callable[[], Mapping[tuple[str, ...], float]],
        help_text: str,
        labels: tuple[str, ...],
        *,
        counter: bool = False,
    ) -> None:
        """Report `read()` (label values → value) as metric `name` at each scrape: a gauge, or with `counter`
        a counter (`read` then gives running totals)."""
        self.registry.register(_ReadAtScrape(name, read, help_text, labels, counter))


class _ReadAtScrape(Collector):
    def __init__(
        self,
        name: str,
        read: Callable[[], Mapping[tuple[str, ...], float]],
        help_text: str,
        labels: tuple[str, ...],
        counter: bool,
    ) -> None:
        self.name = name
        self.read = read
        self.help_text = help_text
        self.labels = list(labels)
        self.family = CounterMetricFamily if counter else GaugeMetricFamily

    def collect(self) -> Iterator[Metric]:
        family = self.family(self.name, self.help_text, labels=self.labels)
        for label_values, value in self.read().items():
            family.add_metric(list(label_values), value)
        yield family

    def describe(self) -> Iterator[Metric]:
        yield self.family(self.name, self.help_text, labels=self.labels)
