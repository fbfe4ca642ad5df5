"""`/web/admin/appeals`: the appeals waiting for a decision, oldest first, each with the warning it is about
and the buttons to approve or reject it (`moderation.decide_appeal`, the same rule of who may act against
whom as every account action). The account page lists the account's appeals with the same buttons."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import moderation
from login.sessions import SignedIn
from storage.appeals import pending_appeals
from storage.context import Context
from storage.ids import parse_id
from web.forms import Form
from web.moderation.common import ADMIN_PAGE, actor_of, refused
from web.moderation.reports import accounts_by_id
from web.pages import error_page, render_page
from web.staff.access import form_endpoint, see_other, staff_or_refusal

PAGE = f"{ADMIN_PAGE}/appeals"
DECISIONS = {"approve": True, "reject": False}


async def appeals_page(request: Request) -> Response:
    ctx: Context = request.state.ctx
    login = await staff_or_refusal(request)
    if isinstance(login, Response):
        return login
    async with ctx.db.read() as session:
        rows = [(appeal, warning) for appeal, warning in (await session.execute(pending_appeals())).all()]
        accounts = await accounts_by_id(session, [appeal.account_id for appeal, _ in rows])
    return await render_page(
        request,
        "moderation/appeals.html",
        headers={"Cache-Control": "no-store"},
        rows=rows,
        accounts=accounts,
        done=request.query_params.get("done", ""),
    )


async def decide(request: Request, login: SignedIn, form: Form) -> Response:
    ctx: Context = request.state.ctx
    appeal_id = parse_id(request.path_params["id"])
    decision = form.get("decision")
    if appeal_id is None or decision not in DECISIONS:
        return await error_page(request, 400, "bad_request")
    try:
        appeal = await moderation.decide_appeal(
            ctx, appeal_id, approve=DECISIONS[decision], actor=actor_of(login), actor_role=login.user.role
        )
    except moderation.ModerationError as error:
        return await refused(request, error)
    if form.get("back") == "account":
        return see_other(f"{ADMIN_PAGE}/accounts/{appeal.account_id}?done=appeal_{decision}")
    return see_other(f"{PAGE}?done={decision}")


routes = [
    Route(PAGE, appeals_page, methods=["GET"]),
    Route(f"{PAGE}/{{id}}/decide", form_endpoint(decide), methods=["POST"]),
]
