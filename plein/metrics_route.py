"""`GET /metrics`: the process's Prometheus metrics, for clients in `metrics.allow_from` (loopback by
default, after `server.trusted_proxies` has named the real client) or presenting `metrics.token`.

What the database knows is read at scrape time, from the rows that are the truth: jobs waiting, running and
failed per queue, the age of the oldest due job, and the remote hosts whose breaker is open.
"""

from __future__ import annotations

import hmac
import ipaddress

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from storage.context import Context
from storage.models import DeliveryHost
from storage.queue_health import queue_health
from storage.relays import all_relays
from storage.types import utcnow


def allowed(ctx: Context, request: Request) -> bool:
    """The client is in `metrics.allow_from`, or its Bearer token is `metrics.token`."""
    settings = ctx.settings.metrics
    if settings.token:
        presented = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if hmac.compare_digest(presented.encode(), settings.token.encode()):
            return True
    if request.client is None:
        return False
    try:
        address = ipaddress.ip_address(request.client.host)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(cidr, strict=False) for cidr in settings.allow_from)


async def refresh_from_database(ctx: Context) -> None:
    """Set the scrape-time gauges from the jobs, delivery-host and relay rows."""
    metrics, now = ctx.metrics, utcnow()
    async with ctx.db.read() as session:
        queues = await queue_health(session, now)
        paused = (
            (await session.execute(select(DeliveryHost.host).where(DeliveryHost.paused_until > now)))
            .scalars()
            .all()
        )
        relays = await all_relays(session)
    metrics.relays.clear()
    metrics.relay_activities.clear()
    for relay in relays:
        metrics.relays.labels(relay.inbox_url, relay.state).set(1)
        metrics.relay_activities.labels(relay.inbox_url, "received").set(relay.received_count)
        metrics.relay_activities.labels(relay.inbox_url, "sent").set(relay.sent_count)
    metrics.queue_jobs.clear()
    metrics.queue_oldest_due.clear()
    for health in queues:
        for state, count in health.jobs.items():
            metrics.queue_jobs.labels(health.queue, state).set(count)
        if health.oldest_due_seconds is not None:
            metrics.queue_oldest_due.labels(health.queue).set(health.oldest_due_seconds)
    metrics.hosts_paused.clear()
    for host in paused:
        metrics.hosts_paused.labels(host).set(1)


async def metrics(request: Request) -> Response:
    ctx: Context = request.state.ctx
    if not allowed(ctx, request):
        return JSONResponse({"error": "Metrics are not readable from here"}, status_code=403)
    await refresh_from_database(ctx)
    return Response(generate_latest(ctx.metrics.registry), media_type=CONTENT_TYPE_LATEST)


routes = [Route("/metrics", metrics, methods=["GET"])]
