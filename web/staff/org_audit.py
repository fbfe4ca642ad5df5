"""`/web/org/{name}/audit`: an organisation's audit trail for its publishers (403 for anyone else), newest
first, filtered by staff login and action, `?max_id=` for older entries, with the object before and after
where recorded; and its download (`audit.csv`, `audit.json`), the same export as `plein org audit`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from storage.context import Context
from storage.ids import parse_id
from storage.organisation_audit import EXPORT_FORMATS, audit_choices, audit_page, export_audit
from storage.organisations import NEED_AUDIT
from web.pages import error_page, render_page
from web.staff.access import organisation_page_access

PAGE_SIZE = 50
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


async def audit_view(request: Request) -> Response:
    ctx: Context = request.state.ctx
    access = await organisation_page_access(request, NEED_AUDIT)
    if isinstance(access, Response):
        return access
    _login, organisation = access
    raw_max_id = request.query_params.get("max_id")
    max_id = parse_id(raw_max_id) if raw_max_id else None
    if raw_max_id and max_id is None:
        return await error_page(request, 400, "bad_request")
    chosen_login = request.query_params.get("login", "")
    chosen_action = request.query_params.get("action", "")
    async with ctx.db.read() as session:
        entries = await audit_page(
            session,
            organisation.id,
            login=chosen_login,
            action=chosen_action,
            max_id=max_id,
            limit=PAGE_SIZE + 1,
        )
        logins, actions = await audit_choices(session, organisation.id)
    page = entries[:PAGE_SIZE]
    older = None
    if len(entries) > PAGE_SIZE:
        older = {"login": chosen_login, "action": chosen_action, "max_id": str(page[-1].id)}
    return await render_page(
        request,
        "staff/org_audit.html",
        organisation=organisation,
        entries=page,
        logins=logins,
        actions=actions,
        chosen_login=chosen_login,
        chosen_action=chosen_action,
        older=older,
    )


async def audit_download(request: Request) -> Response:
    ctx: Context = request.state.ctx
    access = await organisation_page_access(request, NEED_AUDIT)
    if isinstance(access, Response):
        return access
    _login, organisation = access
    export_format = request.path_params["format"]
    if export_format not in EXPORT_FORMATS:
        return await error_page(request, 404, "no_page")
    async with ctx.db.read() as session:
        text, _count = await export_audit(session, organisation.id, export_format)
    name = f"{organisation.username}-audit.{export_format}"
    return Response(
        text,
        media_type=MEDIA_TYPES[export_format],
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-store",
        },
    )


routes = [
    Route("/web/org/{name}/audit", audit_view, methods=["GET"]),
    Route("/web/org/{name}/audit.{format}", audit_download, methods=["GET"]),
]
