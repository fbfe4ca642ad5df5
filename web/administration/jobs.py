"""`/web/admin/jobs`: how the background work is doing — per queue the jobs waiting, running and failed and
how long the oldest due one has waited (what `/metrics` reports), the failed jobs, and per remote host the
delivery breaker, worst first. Admins only; read-only (`storage.queue_health`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from storage.context import Context
from storage.queue_health import failed_jobs, host_health, queue_health
from storage.types import utcnow
from web.pages import render_page
from web.staff.access import ADMIN_ROLES, staff_or_refusal

PAGE = "/web/admin/jobs"
PAGE_SIZE = 50
MAX_PAGE = 10_000


def _page_number(request: Request, name: str) -> int:
    """A page number from the query (1 when absent or unreadable)."""
    raw = request.query_params.get(name, "1")
    return min(int(raw), MAX_PAGE) if raw.isdigit() and int(raw) > 0 else 1


async def jobs_page(request: Request) -> Response:
    ctx: Context = request.state.ctx
    login = await staff_or_refusal(request, ADMIN_ROLES)
    if isinstance(login, Response):
        return login
    hosts_page, failed_page, now = _page_number(request, "hosts"), _page_number(request, "failed"), utcnow()
    async with ctx.db.read() as session:
        queues = await queue_health(session, now)
        hosts = await host_health(session, now, limit=PAGE_SIZE + 1, offset=(hosts_page - 1) * PAGE_SIZE)
        failed = await failed_jobs(session, limit=PAGE_SIZE + 1, offset=(failed_page - 1) * PAGE_SIZE)
    return await render_page(
        request,
        "administration/jobs.html",
        queues=queues,
        hosts=hosts[:PAGE_SIZE],
        failed=failed[:PAGE_SIZE],
        hosts_page=hosts_page,
        failed_page=failed_page,
        more_hosts=len(hosts) > PAGE_SIZE,
        more_failed=len(failed) > PAGE_SIZE,
    )


routes = [Route(PAGE, jobs_page, methods=["GET"])]
