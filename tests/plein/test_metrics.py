"""Prometheus metrics at /metrics, on both backends: readable from loopback by default, else only with the
configured token; HTTP requests counted by route template (never a raw path), inbox deliveries by outcome,
queue depth and age and paused delivery hosts read from the database at scrape time, outbound requests by
outcome, streaming connections while open, database pool use, and each job's outcome from the workers."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from datetime import timedelta
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from storage.db import Database
from storage.metrics import Metrics
from storage.models import DeliveryHost
from storage.queue import ClaimedJob, JobFailed, RetryJob, enqueue, enqueue_many, job_row
from storage.types import utcnow
from storage.worker import QueueWorker
from support.inbox_world import build_world
from support.instance import free_port, make_settings, serve_app, serve_in_process
from support.oauth import bearer, make_token

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _samples(text: str) -> Samples:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


async def test_metrics_count_what_the_instance_does(tmp_path: Path, database_url: str) -> None:
    async for world in build_world(tmp_path, database_url):
        ctx, client = world.ctx, world.client
        await client.get("/api/v1/instance")
        await client.get("/api/v1/statuses/123456")
        await client.get("/no/such/page")
        note = world.ann.note("<p>hello</p>")
        assert (await world.deliver(world.ann.activity("Create", note), world.ann)).status_code == 202
        unsigned = await client.post(
            "/inbox", content=b"{}", headers={"Content-Type": "application/activity+json"}
        )
        assert unsigned.status_code == 401
        async with ctx.db.transaction() as session:
            await enqueue(session, "deliver", {"inbox": "x"}, run_at=utcnow() - timedelta(seconds=30))
            session.add(DeliveryHost(host="down.example", paused_until=utcnow() + timedelta(hours=1)))
        async with serve_app(
            Starlette(routes=[Route("/", lambda _: PlainTextResponse("ok"))]), port := free_port()
        ):
            assert ctx.http is not None
            await ctx.http.get(f"http://127.0.0.1:{port}/")
        token = await make_token(ctx, "alice")
        async with client.stream("GET", "/api/v1/streaming/user", headers=bearer(token)) as stream:
            lines = stream.aiter_lines()  # held: a dropped iterator would close the stream
            assert await anext(lines) == ":)"
            during = _samples((await client.get("/metrics")).text)
        answer = await client.get("/metrics")
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
        samples = _samples(answer.text)

        requests = "plein_http_requests_total"
        assert _value(samples, requests, route="/api/v1/instance", method="GET", status="200") == 1
        # The route's template, never the id in the path.
        assert (
            _value(samples, requests, route="/api/v1/statuses/{status_id}", method="GET", status="404") == 1
        )
        assert _value(samples, requests, route="unmatched", method="GET", status="404") == 1
        assert not any("123456" in str(key) for key in samples)
        assert _value(samples, "plein_inbox_deliveries_total", outcome="accepted") == 1
        assert _value(samples, "plein_inbox_deliveries_total", outcome="SignatureMissing") == 1
        assert _value(samples, "plein_queue_jobs", queue="deliver", state="pending") == 1
        assert _value(samples, "plein_queue_jobs", queue="inbox", state="pending") == 1  # the accepted Create
        assert (_value(samples, "plein_queue_oldest_due_seconds", queue="deliver") or 0) >= 30
        assert _value(samples, "plein_delivery_host_paused", host="down.example") == 1
        assert _value(samples, "plein_outbound_requests_total", method="GET", outcome="2xx") == 1
        assert _value(during, "plein_streaming_connections", protocol="http") == 1
        assert _value(samples, "plein_streaming_connections", protocol="http") == 0
        assert (_value(samples, "plein_db_pool_connections", engine="write", state="size") or 0) >= 1


async def test_metrics_are_refused_off_the_allowed_networks_without_the_token(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, **{"metrics.allow_from": [], "metrics.token": "scrape-secret"})
    async with serve_in_process(settings) as instance, instance.client() as client:
        refused = await client.get("/metrics")
        assert refused.status_code == 403 and "error" in refused.json()
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer guess"})
        assert wrong.status_code == 403
        right = await client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
        assert right.status_code == 200 and "plein_http_requests_total" in right.text


async def test_workers_report_each_jobs_outcome(db: Database) -> None:
    async with db.transaction() as session:
        await enqueue_many(
            session, [job_row("work", {"kind": kind}) for kind in ("ok", "ok", "retry", "fail")]
        )
    metrics = Metrics()
    seen = asyncio.Event()
    ran: Counter[str] = Counter()

    async def handler(job: ClaimedJob) -> int:
        ran[job.payload["kind"]] += 1
        if sum(ran.values()) == 4:
            seen.set()
        if job.payload["kind"] == "retry":
            raise RetryJob(utcnow() + timedelta(hours=1))
        if job.payload["kind"] == "fail":
            raise JobFailed("no")
        return 202

    worker = QueueWorker(db, "work", handler, poll_interval=0.05, observe=metrics.job_outcome)
    runner = asyncio.create_task(worker.run())
    await asyncio.wait_for(seen.wait(), 10)
    runner.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await runner
    await worker.stop()
    jobs = {
        sample.labels["outcome"]: sample.value
        for family in metrics.registry.collect()
        if family.name == "plein_jobs"
        for sample in family.samples
        if sample.name == "plein_jobs_total"
    }
    assert jobs == {"done": 2, "retry": 1, "failed": 1}
