"""What every page of the signed-in web interface starts with: who is signed in (else a redirect to the
login, which comes back here), and for a POST the CSRF check; the staff pages (invites, moderation) also
check the viewer's role (403 for anyone not a moderator or admin)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from login.sessions import SignedIn, session_of, signed_in
from storage.models import Account
from storage.organisations import role_permits
from web.forms import Form, posted_form
from web.pages import error_page


def to_login(request: Request) -> Response:
    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?{urlencode({'next': back})}", status_code=303)


async def viewer_or_login(request: Request, *, restricted_too: bool = False) -> SignedIn | Response:
    """The signed-in viewer, or the response that sends the browser to the login. `restricted_too` lets a
    restricted session (login.sessions) through: only the disputes pages ask it."""
    login = await (session_of(request) if restricted_too else signed_in(request))
    return login if login is not None else to_login(request)


async def posted_by_viewer(
    request: Request, *, restricted_too: bool = False
) -> tuple[SignedIn, Form] | Response:
    """The signed-in viewer and their form, or the refusal: 403 for a form without this browser's token,
    a redirect to the login for a browser that is not signed in (checked first: the token is the
    session's). `restricted_too` as `viewer_or_login`'s."""
    login = await (session_of(request) if restricted_too else signed_in(request))
    if login is None:
        return to_login(request)
    form = await posted_form(request)
    if form is None:
        return await error_page(request, 403, "form_expired")
    return login, form


def role_allows(login: SignedIn, need: str) -> bool:
    """Whether the viewer may do `need` (storage.organisations.NEED_*) as the account they act as: anything
    as themselves, what their role permits as an organisation — the same rule as an acting token's."""
    return login.staff_role is None or role_permits(login.staff_role, need)


async def posted_as_acting(request: Request, need: str) -> tuple[SignedIn, Form] | Response:
    """`posted_by_viewer`, and then 403 when the viewer's role in the organisation they act as does not
    permit `need`."""
    checked = await posted_by_viewer(request)
    if isinstance(checked, Response):
        return checked
    if not role_allows(checked[0], need):
        return await error_page(request, 403, "role_forbids")
    return checked


async def organisation_page_access(request: Request, need: str) -> tuple[SignedIn, Account] | Response:
    """For the pages of one organisation (`/web/org/{name}/…`): the viewer and the organisation, when the
    viewer's own role in it permits `need` (whichever account they act as); else the login, or 403."""
    login = await viewer_or_login(request)
    if isinstance(login, Response):
        return login
    name = request.path_params["name"]
    for membership in login.memberships:
        if membership.organisation.username == name and role_permits(membership.role, need):
            return login, membership.organisation
    return await error_page(request, 403, "forbidden")


def see_other(url: str) -> Response:
    """The redirect after a successful form post (Post/Redirect/Get)."""
    return RedirectResponse(url, status_code=303)


# As Mastodon's role permissions: moderators and admins handle invites, reports and accounts and read the
# audit log; only admins set the domain policy and the instance's settings and watch the job queue.
STAFF_ROLES = ("moderator", "admin")
ADMIN_ROLES = ("admin",)


async def staff_or_refusal(request: Request, roles: tuple[str, ...] = STAFF_ROLES) -> SignedIn | Response:
    """The signed-in viewer whose role is one of `roles` (moderator or admin unless told), or the answer:
    the login, or a 403 page for anyone else."""
    login = await viewer_or_login(request)
    if isinstance(login, Response):
        return login
    if login.user.role not in roles:
        return await error_page(request, 403, "forbidden")
    return login


async def posted_by_staff(
    request: Request, roles: tuple[str, ...] = STAFF_ROLES
) -> tuple[SignedIn, Form] | Response:
    """`posted_by_viewer` for a staff page: also a 403 page for a viewer whose role is not one of `roles`."""
    posted = await posted_by_viewer(request)
    if isinstance(posted, Response):
        return posted
    if posted[0].user.role not in roles:
        return await error_page(request, 403, "forbidden")
    return posted


FormHandler = Callable[[Request, SignedIn, Form], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def form_endpoint(
    handler: FormHandler, *, roles: tuple[str, ...] | None = STAFF_ROLES, restricted_too: bool = False
) -> Endpoint:
    """The Starlette endpoint of a form post: the prologue every one shares (signed in, else the login;
    the form's CSRF token, else 403; for `roles` the viewer's role one of them, else 403 — `None` lets any
    signed-in viewer through, and `restricted_too` a restricted session as well: the appeal's form only),
    then `handler(request, viewer, form)` does the rest."""
    assert roles is None or not restricted_too, "a restricted session never acts as staff"

    async def endpoint(request: Request) -> Response:
        posted = await (
            posted_by_viewer(request, restricted_too=restricted_too)
            if roles is None
            else posted_by_staff(request, roles)
        )
        if isinstance(posted, Response):
            return posted
        login, form = posted
        return await handler(request, login, form)

    return endpoint
