"""`/web/review`: the review queue of the organisations whose publisher the signed-in staff member is — each
draft an author submitted, with approve (now) and return (with a comment) as plain form posts, acting as the
organisation through `outbox.actions.review` so the audit trail names this login and "web session"."""

from __future__ import annotations

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from login.sessions import SignedIn
from outbox.actions.review import PENDING, approve_draft, return_draft
from outbox.errors import ActionError
from storage.acting import ACTING_STAFF, ActingStaff
from storage.context import Context
from storage.ids import parse_id
from storage.models import Account, ScheduledStatus, User
from storage.organisations import memberships_of
from web.pages import render_page
from web.staff.access import posted_by_viewer, see_other, viewer_or_login

PAGE = "/web/review"


async def _published_for(ctx: Context, login: SignedIn) -> list[Account]:
    """The organisations this login may review for (publisher)."""
    async with ctx.db.read() as session:
        return [m.organisation for m in await memberships_of(session, login.user.id) if m.role == "publisher"]


def _staff(login: SignedIn, organisation: Account) -> ActingStaff:
    return ActingStaff(
        organisation_id=organisation.id,
        organisation=organisation.username,
        user_id=login.user.id,
        login=login.account.username,
        role="publisher",
        via="web session",
    )


async def _page(request: Request, login: SignedIn, *, status_code: int = 200, error: str = "") -> Response:
    ctx: Context = request.state.ctx
    organisations = await _published_for(ctx, login)
    queues = []
    async with ctx.db.read() as session:
        for organisation in organisations:
            rows = (
                await session.execute(
                    select(ScheduledStatus, Account.username)
                    .outerjoin(User, User.id == ScheduledStatus.submitted_by_user_id)
                    .outerjoin(Account, Account.id == User.account_id)
                    .where(
                        ScheduledStatus.account_id == organisation.id, ScheduledStatus.review_state == PENDING
                    )
                    .order_by(ScheduledStatus.id)
                )
            ).all()
            queues.append((organisation, list(rows)))
    return await render_page(
        request,
        "staff/review.html",
        status_code,
        queues=queues,
        error=error,
        saved=request.query_params.get("saved", ""),
    )


async def review_page(request: Request) -> Response:
    login = await viewer_or_login(request)
    if isinstance(login, Response):
        return login
    return await _page(request, login)


async def decide(request: Request) -> Response:
    ctx: Context = request.state.ctx
    checked = await posted_by_viewer(request)
    if isinstance(checked, Response):
        return checked
    login, form = checked
    organisation_id, draft_id = parse_id(form.get("organisation_id")), parse_id(form.get("draft_id"))
    chosen = [o for o in await _published_for(ctx, login) if o.id == organisation_id]
    if not chosen or draft_id is None:
        return await _page(request, login, status_code=403, error="not_publisher")
    staff = _staff(login, chosen[0])
    ACTING_STAFF.set(staff)  # what this request sends as the organisation (the author's message) is audited
    try:
        if form.get("decision") == "approve":
            await approve_draft(ctx, chosen[0], staff, draft_id)
            return see_other(f"{PAGE}?saved=approved")
        await return_draft(ctx, chosen[0], staff, draft_id, form.get("comment"))
    except ActionError:
        return await _page(request, login, status_code=422, error="cannot")
    return see_other(f"{PAGE}?saved=returned")


routes = [
    Route(PAGE, review_page, methods=["GET"]),
    Route(PAGE, decide, methods=["POST"]),
]
