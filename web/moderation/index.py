"""`/web/admin`: where moderators and admins start — links to the reports, accounts and the admin pages,
with the number of open reports, of appeals and of sign-ups waiting for a decision."""

from __future__ import annotations

from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from storage.appeals import pending_appeals
from storage.context import Context
from storage.models import Report, User
from web.moderation.common import ADMIN_PAGE
from web.pages import render_page
from web.staff.access import staff_or_refusal


async def index_page(request: Request) -> Response:
    ctx: Context = request.state.ctx
    login = await staff_or_refusal(request)
    if isinstance(login, Response):
        return login
    async with ctx.db.read() as session:
        open_reports = await session.scalar(
            select(func.count()).select_from(Report).where(Report.resolved_at.is_(None))
        )
        pending = await session.scalar(select(func.count()).select_from(User).where(User.approved.is_(False)))
        appeals = await session.scalar(select(func.count()).select_from(pending_appeals().subquery()))
    return await render_page(
        request,
        "moderation/index.html",
        headers={"Cache-Control": "no-store"},
        open_reports=open_reports or 0,
        pending=pending or 0,
        appeals=appeals or 0,
    )


routes = [Route(ADMIN_PAGE, index_page, methods=["GET"])]
