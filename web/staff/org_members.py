"""`/web/org/{name}/members`: an organisation's publishers manage its members — add an existing local login
with a role, change a role, remove — through `storage.organisation_members`, the same code as `plein org
add|remove` (the member's tokens for the organisation end in the same transaction), audited as the
publisher's login through "web session". Anyone else gets 403."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from login.sessions import SignedIn, web_staff
from storage.accounts import local_account_by_username
from storage.context import Context
from storage.models import Account
from storage.organisation_members import add_member, drop_member
from storage.organisations import NEED_MEMBERS, ROLES, OrganisationError, members_of
from web.forms import Form, posted_form
from web.pages import error_page, render_page
from web.staff.access import organisation_page_access, see_other


async def _page(
    request: Request, organisation: Account, *, status_code: int = 200, error: str = ""
) -> Response:
    ctx: Context = request.state.ctx
    async with ctx.db.read() as session:
        members = await members_of(session, organisation.id)
    return await render_page(
        request,
        "staff/org_members.html",
        status_code,
        organisation=organisation,
        members=members,
        roles=ROLES,
        error=error,
        saved=request.query_params.get("saved", ""),
    )


async def members_page(request: Request) -> Response:
    access = await organisation_page_access(request, NEED_MEMBERS)
    if isinstance(access, Response):
        return access
    return await _page(request, access[1])


async def _posted(request: Request) -> tuple[SignedIn, Account, Form] | Response:
    access = await organisation_page_access(request, NEED_MEMBERS)
    if isinstance(access, Response):
        return access
    form = await posted_form(request)
    if form is None:
        return await error_page(request, 403, "form_expired")
    return access[0], access[1], form


async def change_member(request: Request) -> Response:
    """Add a member or change a member's role (`username`, `role`), or remove one (`remove`)."""
    ctx: Context = request.state.ctx
    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    login, organisation, form = posted
    staff = web_staff(login.user, login.account, organisation, "publisher")
    removing = bool(form.get("remove"))
    role = form.get("role")
    if not removing and role not in ROLES:
        return await _page(request, organisation, status_code=422, error="role")
    try:
        async with ctx.db.transaction() as session:
            member = await local_account_by_username(session, form.get("username").strip().lstrip("@"))
            if member is None:
                return await _page(request, organisation, status_code=422, error="no_login")
            if removing:
                await drop_member(session, organisation, member, staff)
            else:
                await add_member(session, organisation, member, role, staff)
    except OrganisationError:
        return await _page(request, organisation, status_code=422, error="no_login")
    return see_other(f"/web/org/{organisation.username}/members?saved={'removed' if removing else 'saved'}")


routes = [
    Route("/web/org/{name}/members", members_page, methods=["GET"]),
    Route("/web/org/{name}/members", change_member, methods=["POST"]),
]
