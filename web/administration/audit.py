"""`/web/admin/audit`: the moderation audit log (`storage.audit`), newest first, filtered by action and
actor, a page of entries at a time. Moderators and admins; the same entries `plein audit list` prints."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from storage.audit import audit_actions, recent_audit_entries
from storage.context import Context
from storage.ids import parse_id
from storage.models import AuditEntry
from web.pages import render_page
from web.staff.access import staff_or_refusal

PAGE = "/web/admin/audit"
PAGE_SIZE = 50


async def audit_page(request: Request) -> Response:
    ctx: Context = request.state.ctx
    login = await staff_or_refusal(request)
    if isinstance(login, Response):
        return login
    action = request.query_params.get("action", "")[:64]
    actor = request.query_params.get("actor", "").strip()[:255]
    before_id = parse_id(request.query_params.get("before", ""))
    async with ctx.db.read() as session:
        before = await session.get(AuditEntry, before_id) if before_id is not None else None
        entries = await recent_audit_entries(
            session, limit=PAGE_SIZE + 1, action=action, actor=actor, before=before
        )
        actions = await audit_actions(session)
    older = ""
    if len(entries) > PAGE_SIZE:
        entries = entries[:PAGE_SIZE]
        filters = {name: value for name, value in (("action", action), ("actor", actor)) if value}
        older = f"{PAGE}?{urlencode({**filters, 'before': entries[-1].id})}"
    return await render_page(
        request,
        "administration/audit.html",
        entries=entries,
        actions=actions,
        action=action,
        actor=actor,
        older=older,
        paged=before is not None,
    )


routes = [Route(PAGE, audit_page, methods=["GET"])]
