"""The metrics `plein worker` serves on `metrics.worker_port`: its own counters (jobs, outbound requests).

A worker of a multi-domain install runs every domain's queues, each domain with its own Context and so its own
registry. Exposition forbids a metric family twice, so the domains' families are merged into one each, every
sample labelled with its `domain`. A single-domain worker serves its one registry as it is, without the label.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector


class DomainsCollector(Collector):
    """Every domain's registry as one, each sample labelled `domain`."""

    def __init__(self, registries: Mapping[str, CollectorRegistry]) -> None:
        self.registries = registries

    def collect(self) -> Iterable[Metric]:
        merged: dict[str, Metric] = {}
        for domain, registry in self.registries.items():
            for family in registry.collect():
                target = merged.setdefault(
                    family.name, Metric(family.name, family.documentation, family.type, family.unit)
                )
                for sample in family.samples:
                    target.samples.append(sample._replace(labels={**sample.labels, "domain": domain}))
        return merged.values()


def worker_registry(registries: Mapping[str, CollectorRegistry]) -> CollectorRegistry:
    """The registry to serve: the single domain's own, or all domains' merged."""
    if len(registries) == 1:
        return next(iter(registries.values()))
    merged = CollectorRegistry(auto_describe=False)
    merged.register(DomainsCollector(registries))
    return merged


def serve_worker_metrics(port: int, host: str, registries: Mapping[str, CollectorRegistry]) -> None:
    """Serve the worker's metrics over HTTP on host:port (prometheus-client's own server thread)."""
    start_http_server(port, addr=host, registry=worker_registry(registries))
