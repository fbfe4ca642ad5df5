"""Public HTML pages: account profiles with their public posts (h-card / h-feed microformats)."""

from __future__ import annotations

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from storage.accounts import local_account_by_username
from storage.context import Context
from storage.models import Status

PROFILE_STATUSES = 20


def _render(request: Request, template: str, status_code: int = 200, **values: object) -> Response:
    ctx: Context = request.state.ctx
    environment = request.state.templates
    html = environment.get_template(template).render(
        instance_name=ctx.settings.instance.name, domain=ctx.domain, **values
    )
    return HTMLResponse(html, status_code=status_code)


async def profile(request: Request) -> Response:
    ctx: Context = request.state.ctx
    username = request.path_params["username"]
    async with ctx.db.read() as session:
        account = await local_account_by_username(session, username)
        if account is None or account.suspended_at is not None:
            return HTMLResponse(
                "<!doctype html><title>Not found</title><h1>No such account</h1>", status_code=404
            )
        statuses = list(
            (
                await session.execute(
                    select(Status)
                    .where(
                        Status.account_id == account.id,
                        Status.visibility == "public",
                        Status.deleted_at.is_(None),
                        Status.reblog_of_id.is_(None),
                    )
                    .order_by(Status.id.desc())
                    .limit(PROFILE_STATUSES)
                )
            ).scalars()
        )
    return _render(request, "profile.html", account=account, statuses=statuses)


routes = [Route("/@{username}", profile, methods=["GET"])]
