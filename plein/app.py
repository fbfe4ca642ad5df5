"""The composition root: build the Context in the lifespan, mount every package's routes, run workers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute
from starlette.types import ASGIApp

import clientapi.media
import clientapi.profile
import clientapi.routes
import inbox.routes
import outbox.routes
import web.about
import web.administration
import web.assets
import web.feeds
import web.group_moderation
import web.invites
import web.media
import web.moderation.accounts
import web.moderation.appeals
import web.moderation.index
import web.moderation.reports
import web.pages
import web.signup
import web.staff.acting
import web.staff.compose
import web.staff.disputes
import web.staff.login
import web.staff.org_audit
import web.staff.org_members
import web.staff.report
import web.staff.review
import web.staff.security
import web.staff.settings
import web.staff.timelines
import web.tags
import webfinger.routes
from apub.client import FederationClient
from apub.httpsig.auth import SchemeMemory
from apub.ssrf import Resolver
from archive.daily import ensure_daily_archive
from clientapi.cors import CorsMiddleware
from inbox.queueing import ClaimPacer, inbox_queue
from outbox.actions.statuses import MAX_MEDIA
from plein import health, metrics_route
from plein.access_log import AccessLogMiddleware
from plein.errors import exception_handlers
from plein.headers import SecurityHeadersMiddleware
from plein.host_router import HostRouter
from plein.jobs import job_handlers
from plein.limits import MULTIPART_OVERHEAD, BodyLimit
from plein.proxies import ForwardedClientMiddleware
from storage.accounts import ensure_instance_actor
from storage.context import Context
from storage.db import Database
from storage.domains import FederationGate
from storage.job_wakeups import WakeListener
from storage.migrate import migrate
from storage.pg_bus import make_event_bus
from storage.process_nodes import take_process_node
from storage.recovery import start_beating
from storage.settings import Settings
from storage.software import software_version
from storage.urls import LocalUrls
from storage.worker import FinishedJobPurger, QueueWorker, WorkerHeartbeat, worker_name
from web.restricted import RestrictedSessionGate
from web.templating import Pages
from webfinger.keys import StorageKeyLookup

logger = logging.getLogger("plein")
# The loops a worker process runs.
Background = QueueWorker | FinishedJobPurger | WorkerHeartbeat | WakeListener


def all_routes() -> list[BaseRoute]:
    """Every package's routes, in matching order (the inbox first: it takes the bulk of the traffic)."""
    return [
        *inbox.routes.routes,
        *health.routes,
        *metrics_route.routes,
        *webfinger.routes.routes,
        *outbox.routes.routes,
        *clientapi.routes.routes,
        *web.media.routes,
        *web.assets.routes,
        *web.feeds.routes,
        *web.pages.routes,
        *web.about.routes,
        *web.tags.routes,
        *web.group_moderation.routes,
        *web.staff.login.routes,
        *web.signup.routes,
        *web.invites.routes,
        *web.moderation.index.routes,
        *web.moderation.reports.routes,
        *web.moderation.accounts.routes,
        *web.moderation.appeals.routes,
        *web.administration.routes,
        *web.staff.timelines.routes,
        *web.staff.compose.routes,
        *web.staff.disputes.routes,
        *web.staff.settings.routes,
        *web.staff.security.routes,
        *web.staff.review.routes,
        *web.staff.report.routes,
        *web.staff.acting.routes,
        *web.staff.org_audit.routes,
        *web.staff.org_members.routes,
    ]


async def build_context(settings: Settings, *, resolver: Resolver | None = None) -> Context:
    """Open the database (migrating it), make sure the instance actor exists, build the shared clients.

    `resolver` replaces DNS for the federation client (tests map their host names to loopback addresses)."""
    if settings.federation.allow_private_addresses:
        logger.warning(
            "!!! federation.allow_private_addresses is set (%s): outbound requests may reach private networks. "
            "Use this for local tests and development only. !!!",
            ", ".join(settings.federation.allow_private_addresses),
        )
    db = Database(
        settings.database_url,
        pool_size=settings.database.pool_size,
        max_overflow=settings.database.max_overflow,
        schema=settings.database.schema,
    )
    await migrate(db)
    await take_process_node(db)  # before this process makes its first id
    async with db.transaction() as session:
        await ensure_instance_actor(session, LocalUrls(settings.base_url))
    limits = settings.limits
    http = FederationClient(
        allow_private_addresses=settings.federation.allow_private_addresses,
        max_body_bytes=limits.fetch_max_bytes,
        connect_timeout=limits.connect_timeout_seconds,
        total_timeout=limits.fetch_timeout_seconds,
        per_host_concurrency=limits.per_host_concurrency,
        keepalive_seconds=limits.keepalive_seconds,
        user_agent=f"Plein/{software_version()} (+{settings.base_url})",
        resolver=resolver,
        # The one outbound gate: nothing reaches a suspended host, nor one off the allow-list in that mode.
        host_gate=FederationGate(db, allowlist_mode=settings.federation.mode == "allowlist"),
        ca_bundle=settings.federation.ca_bundle,
    )
    bus = make_event_bus(
        settings.database_url, settings.database.schema
    )  # NOTIFY across processes on PostgreSQL
    await bus.start()
    ctx = Context(settings=settings, db=db, bus=bus, http=http, scheme_memory=SchemeMemory())
    ctx.key_lookup = StorageKeyLookup(ctx)
    ctx.metrics.watch(
        "plein_outbound_requests",
        lambda: http.requests,
        "Requests to other servers, by method and outcome",
        ("method", "outcome"),
        counter=True,
    )
    ctx.metrics.watch(
        "plein_db_pool_connections",
        db.pool_use,
        "Database connections, by engine and state",
        ("engine", "state"),
    )
    return ctx


async def close_context(ctx: Context) -> None:
    """Release what `build_context` opened."""
    await ctx.bus.close()
    if ctx.http is not None:
        await ctx.http.aclose()
    await ctx.db.dispose()


DELIVERY_SLOT_SECONDS = 5.0


def start_workers(
    ctx: Context,
) -> list[tuple[Background, asyncio.Task[None]]]:
    """One worker loop per queue, inside this process, and the purge of finished jobs.

    Deliveries wait on remote servers, so `deliver` runs `limits.delivery_concurrency` jobs at once. Inbox
    jobs mostly wait for their turn in a shared write batch (`inbox.notes`), so the inbox worker runs a
    full batch's worth at once: more would only queue longer, fewer would split batches, and it gives way to
    deliveries arriving in this process (`inbox.queueing.ClaimPacer`). A fan-out job is a few short write
    transactions (`outbox.fan_out`): a handful at once keeps the delivery queue full without crowding the
    database writer.
    """
    from inbox.notes import MAX_BATCH as INBOX_BATCH  # here, so this edit stays inside start_workers

    concurrency = {
        "inbox": INBOX_BATCH,
        "moderation": 1,
        "fan_out": 4,
    }  # purges of one domain must not race each other
    pacing = {"inbox": ClaimPacer(inbox_queue(ctx))}
    started = []
    for queue, handler in job_handlers(ctx).items():
        limit = concurrency.get(queue, ctx.settings.limits.delivery_concurrency)
        # A delivery still waiting after DELIVERY_SLOT_SECONDS is to a slow or dead host: it goes on outside
        # the slots (up to as many again), so 1 % of dead hosts cannot hold every slot of a big fan-out.
        delivering = queue == "deliver"
        worker = QueueWorker(
            ctx.db,
            queue,
            handler,
            concurrency=limit,
            pace=pacing.get(queue),
            observe=ctx.metrics.job_outcome,
            slot_timeout=DELIVERY_SLOT_SECONDS if delivering else None,
            lingering=limit if delivering else 0,
        )
        ctx.caches.setdefault("workers", {})[queue] = worker
        started.append((worker, asyncio.create_task(worker.run(), name=f"worker:{queue}")))
    # Jobs queued by processes without workers (`serve --no-workers`) wake these at once, not at their poll.
    listener = WakeListener(ctx.bus, ctx.caches["workers"])
    started.append((listener, asyncio.create_task(listener.run(), name="job-wakeups")))
    purger = FinishedJobPurger(ctx.db)
    started.append((purger, asyncio.create_task(purger.run(), name="purge-finished-jobs")))
    heartbeat = WorkerHeartbeat(ctx.db)
    started.append((heartbeat, asyncio.create_task(heartbeat.run(), name="worker-heartbeat")))
    return started


async def stop_workers(
    started: list[tuple[Background, asyncio.Task[None]]],
) -> None:
    """Cancel the loops and let running jobs finish."""
    for worker, task in started:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await worker.stop()


def body_limit(settings: Settings) -> Middleware:
    """Every route's body limit (`plein.limits`): media uploads get the media limit, profile changes room for
    an avatar and a header, the rest the body limit."""
    upload_limit = settings.limits.max_media_bytes + MULTIPART_OVERHEAD
    profile_limit = 2 * settings.limits.max_media_bytes + MULTIPART_OVERHEAD
    compose_limit = MAX_MEDIA * settings.limits.max_media_bytes + MULTIPART_OVERHEAD
    return Middleware(
        BodyLimit,
        max_body_bytes=settings.limits.max_body_bytes,
        path_limits=dict.fromkeys(clientapi.media.UPLOAD_PATHS, upload_limit)
        | dict.fromkeys(clientapi.profile.UPLOAD_PATHS, profile_limit)
        | dict.fromkeys(web.staff.compose.UPLOAD_PATHS, compose_limit)
        | dict.fromkeys(web.staff.settings.UPLOAD_PATHS, profile_limit),
    )


def create_app(
    settings: Settings, *, run_workers: bool | None = None, resolver: Resolver | None = None
) -> Starlette:
    """The ASGI application of one instance; `run_workers` defaults to `server.workers` from the settings,
    `resolver` (for tests) replaces DNS for outbound federation requests."""
    with_workers = settings.server.workers if run_workers is None else run_workers

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        ctx = await build_context(settings, resolver=resolver)
        app.state.ctx = ctx  # for tests and tools that hold the app, not a request
        if with_workers:
            await start_beating(ctx.db, worker_name())  # and take back a crashed predecessor's jobs
            await ensure_daily_archive(ctx)
        started = start_workers(ctx) if with_workers else []
        try:
            yield {"ctx": ctx, "pages": Pages.load()}
        finally:
            await stop_workers(started)
            await close_context(ctx)

    middleware: list[Middleware] = [
        Middleware(ForwardedClientMiddleware, trusted_proxies=settings.server.trusted_proxies),
        Middleware(AccessLogMiddleware, log_client_addresses=settings.server.log_client_addresses),
        Middleware(CorsMiddleware),
        Middleware(SecurityHeadersMiddleware, base_url=settings.base_url),
        Middleware(RestrictedSessionGate),  # a suspended or disabled login's session: its disputes only
        body_limit(settings),
    ]
    return Starlette(
        routes=all_routes(),
        middleware=middleware,
        exception_handlers=exception_handlers(),  # type: ignore[arg-type]
        lifespan=lifespan,
    )


def create_server_app(
    tenants: tuple[Settings, ...], *, run_workers: bool | None = None, resolver: Resolver | None = None
) -> ASGIApp:
    """What `plein serve` serves: the one instance's application, or with several domains (`[[domains]]`,
    `plein.config.load_tenants`) a `HostRouter` over one application per domain, each with its own Context."""
    if len(tenants) == 1:
        return create_app(tenants[0], run_workers=run_workers, resolver=resolver)
    return HostRouter(
        {tenant.domain: create_app(tenant, run_workers=run_workers, resolver=resolver) for tenant in tenants}
    )
