"""The warned account's side of appeals (`/web/disputes`, as Mastodon's): its warnings, newest first, each
with its own page (linked from the warning's notification) showing what the moderators did, their message
and the appeal — the form to make one while the warning may still be appealed (`storage.appeals`), or the
appeal made and the moderators' decision. The appeal is `moderation.appeal_warning`: a refused one (no text,
too long, too late, made already) answers 422 with the page and the text kept, and nothing is stored.
These pages (and the sign-out) are all a restricted session — an account the moderators suspended or whose
login they disabled — reaches, so it can appeal the very measure (login.sessions, web.restricted)."""

from __future__ import annotations

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import moderation
from login.sessions import SignedIn
from storage.appeals import MAX_APPEAL_TEXT, appeal_deadline, appeals_of_warnings, why_not_appealable
from storage.context import Context
from storage.ids import parse_id
from storage.models import AccountWarning
from storage.types import utcnow
from web.forms import Form
from web.pages import error_page, render_page
from web.staff.access import form_endpoint, see_other, viewer_or_login

PAGE = "/web/disputes"


def dispute_path(warning_id: int) -> str:
    """A warning's own page."""
    return f"{PAGE}/{warning_id}"


async def disputes_page(request: Request) -> Response:
    ctx: Context = request.state.ctx
    login = await viewer_or_login(request, restricted_too=True)
    if isinstance(login, Response):
        return login
    async with ctx.db.read() as session:
        warnings = list(
            (
                await session.execute(
                    select(AccountWarning)
                    .where(AccountWarning.target_account_id == login.account.id)
                    .order_by(AccountWarning.id.desc())
                )
            ).scalars()
        )
        appeals = await appeals_of_warnings(session, [warning.id for warning in warnings])
    return await render_page(
        request,
        "staff/disputes.html",
        headers={"Cache-Control": "no-store"},
        warnings=warnings,
        appeals=appeals,
    )


async def _dispute(
    request: Request,
    login: SignedIn,
    warning_id: int | None,
    *,
    text: str = "",
    problem: str = "",
    status: int = 200,
) -> Response:
    """A warning's page, or 404 when it is no warning of the viewer's (another's is not shown)."""
    ctx: Context = request.state.ctx
    async with ctx.db.read() as session:
        warning = await session.get(AccountWarning, warning_id) if warning_id is not None else None
        if warning is None or warning.target_account_id != login.account.id:
            return await error_page(request, 404, "no_page")
        appeal = (await appeals_of_warnings(session, [warning.id])).get(warning.id)
    return await render_page(
        request,
        "staff/dispute.html",
        status,
        headers={"Cache-Control": "no-store"},
        warning=warning,
        appeal=appeal,
        why_not=why_not_appealable(warning, appeal, utcnow()),
        deadline=appeal_deadline(warning),
        max_text=MAX_APPEAL_TEXT,
        text=text,
        problem=problem,
        done=request.query_params.get("done", ""),
    )


async def dispute_page(request: Request) -> Response:
    login = await viewer_or_login(request, restricted_too=True)
    if isinstance(login, Response):
        return login
    return await _dispute(request, login, parse_id(request.path_params["id"]))


async def appeal(request: Request, login: SignedIn, form: Form) -> Response:
    ctx: Context = request.state.ctx
    warning_id = parse_id(request.path_params["id"])
    if warning_id is None:
        return await error_page(request, 404, "no_page")
    text = form.get("text")
    if "text" in form.over_long:
        return await _dispute(request, login, warning_id, text=text, problem="too_long", status=422)
    try:
        await moderation.appeal_warning(ctx, warning_id, login.account, text)
    except moderation.AppealRefused as refused:
        return await _dispute(request, login, warning_id, text=text, problem=refused.problem, status=422)
    except moderation.NotPermitted:
        return await error_page(request, 403, "forbidden")
    except moderation.NothingToUndo:
        return await error_page(request, 404, "no_page")
    return see_other(f"{dispute_path(warning_id)}?done=appealed")


routes = [
    Route(PAGE, disputes_page, methods=["GET"]),
    Route(f"{PAGE}/{{id}}", dispute_page, methods=["GET"]),
    Route(f"{PAGE}/{{id}}/appeal", form_endpoint(appeal, roles=None, restricted_too=True), methods=["POST"]),
]
