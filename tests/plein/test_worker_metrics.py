"""`plein worker`'s own metrics on `metrics.worker_port`: one domain's registry as it is; on a multi-domain
install every domain's, merged, each sample labelled with its domain (a real worker process, scraped over HTTP)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx

from support.instance import PleinProcess, free_port, make_settings

HOST = "127.0.26.1"


def _worker(folder: Path, *, second_domain: str = "") -> tuple[PleinProcess, int]:
    metrics_port = free_port()
    port = free_port()
    settings = make_settings(
        folder / "data",
        port=port,
        **{
            "instance.domain": f"{HOST}:{port}",
            "instance.base_url": f"http://{HOST}:{port}",
            "server.listen_host": HOST,
            "metrics.worker_port": metrics_port,
        },
    )
    process = PleinProcess(settings, folder, command="worker")
    if second_domain:
        with process.config_path.open("a") as config:
            config.write(f'\n[[domains]]\ndomain = "{second_domain}"\nbase_url = "http://{second_domain}"\n')
    process.cli("migrate")
    return process, metrics_port


async def _scrape(process: PleinProcess, metrics_port: int) -> str:
    await process.start()
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            for _ in range(100):  # the metrics thread starts right after the queue loops
                try:
                    response = await client.get(f"http://{HOST}:{metrics_port}/metrics")
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
                    continue
                assert response.status_code == 200
                return response.text
    finally:
        process.stop()
    raise AssertionError(f"the worker's metrics never answered:\n{process.log()}")


def _families(exposition: str) -> list[str]:
    return re.findall(r"^# TYPE (\S+) ", exposition, flags=re.MULTILINE)


async def test_single_domain_worker_serves_its_registry_without_a_domain_label(tmp_path: Path) -> None:
    process, metrics_port = _worker(tmp_path)
    exposition = await _scrape(process, metrics_port)
    assert "plein_jobs_total" in _families(exposition)
    assert re.search(r"^plein_db_pool_connections\{", exposition, flags=re.MULTILINE)
    assert "domain=" not in exposition


async def test_multi_domain_worker_labels_every_domains_samples(tmp_path: Path) -> None:
    process, metrics_port = _worker(tmp_path, second_domain="127.0.26.2:8000")
    exposition = await _scrape(process, metrics_port)
    families = _families(exposition)
    assert len(families) == len(set(families)), "a metric family is exposed twice"
    assert {"plein_jobs_total", "plein_db_pool_connections", "plein_outbound_requests_total"} <= set(families)
    pool_domains = set(
        re.findall(r'^plein_db_pool_connections\{[^}]*domain="([^"]+)"', exposition, flags=re.MULTILINE)
    )
    assert pool_domains == {process.settings.domain, "127.0.26.2:8000"}
