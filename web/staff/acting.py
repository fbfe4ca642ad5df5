"""The account switcher (`POST /web/acting`): a staff member who belongs to organisations chooses to act, in
this browser, as one of them or as themselves. The choice is kept in the login session
(`login_sessions.acting_account_id`); `login.sessions.signed_in` checks the membership at every request, so
the pages and actions that follow are the organisation's, under the member's role."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from storage.context import Context
from storage.ids import parse_id
from storage.login_sessions import set_acting
from web.pages import error_page
from web.staff.access import posted_by_viewer, see_other


async def switch_account(request: Request) -> Response:
    ctx: Context = request.state.ctx
    checked = await posted_by_viewer(request)
    if isinstance(checked, Response):
        return checked
    login, form = checked
    chosen_id = parse_id(form.get("account_id"))
    if chosen_id == login.account.id:
        acting_id = None
    elif any(membership.organisation.id == chosen_id for membership in login.memberships):
        acting_id = chosen_id
    else:
        return await error_page(request, 403, "forbidden")
    async with ctx.db.transaction() as session:
        await set_acting(session, login.session_id, acting_id)
    return see_other("/web/home")


routes = [Route("/web/acting", switch_account, methods=["POST"])]
