"""The web login session: a random token in an HttpOnly, SameSite=Lax cookie (Secure on https), its hash
in `login_sessions` (storage.login_sessions), so signing a browser out is deleting a row. The OAuth consent
page and the web interface read the same session: one login for both.

Who is signed in is read once per request and kept in the ASGI scope.

A login the moderators locked out (its account suspended, or its login disabled: `storage.accounts`
`restricted_by_moderators`) still gets a session, as Mastodon lets such an account sign in to appeal: a
*restricted* one. `signed_in` never answers it — so no page or action can act as that account — and only
`session_of` does, for the few places that serve it: the disputes pages, the sign-out, the forms' CSRF token
and the gate that answers every other page with a 403 (`web.restricted`). The restriction is read again at
every request: once the measure is lifted (an approved appeal), the same session is a normal one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response

from login.signing import CSRF_COOKIE, csrf_token, csrf_valid, new_csrf_cookie
from storage.accounts import restricted_by_moderators
from storage.acting import ACTING_STAFF, ActingStaff
from storage.context import Context
from storage.login_sessions import (
    IDLE_LIFETIME,
    SEEN_GRANULARITY,
    create_login_session,
    login_session_by_token,
    mark_seen,
    set_acting,
)
from storage.models import Account, LoginSession, User
from storage.organisations import Membership, memberships_of
from storage.types import utcnow

SESSION_COOKIE = "plein_login"
_SCOPE_KEY = "plein.signed_in"


@dataclass(frozen=True)
class SignedIn:
    """The user a request comes from, through which session, and as whom: `account` is the login's own,
    `acting` the one its pages and actions are for (an organisation chosen with the account switcher, with
    the member's `staff_role` in it, else the own account)."""

    session_id: int
    token: str
    user: User
    account: Account
    acting_as: Account | None = None
    staff_role: str | None = None
    memberships: tuple[Membership, ...] = field(default=())
    restricted: bool = False

    @property
    def acting(self) -> Account:
        return self.acting_as if self.acting_as is not None else self.account


def cookie_options(ctx: Context) -> dict[str, object]:
    """Options of every cookie of the HTML pages."""
    return {
        "httponly": True,
        "samesite": "lax",
        "secure": ctx.base_url.startswith("https://"),
        "path": "/",
    }


def user_agent_of(request: Request) -> str:
    return request.headers.get("user-agent", "")[:256]


async def _live_session(ctx: Context, token: str) -> tuple[LoginSession, User, Account] | None:
    async with ctx.db.read() as session:
        found = await login_session_by_token(session, token)
        account = await session.get(Account, found[1].account_id) if found else None
    if found is None or account is None:
        return None
    row, user = found
    if not user.approved or account.domain is not None:
        return None
    return row, user, account


def web_staff(user: User, account: Account, organisation: Account, role: str) -> ActingStaff:
    """A signed-in staff member acting as `organisation` with `role` through the web, for its audit trail."""
    return ActingStaff(
        organisation_id=organisation.id,
        organisation=organisation.username,
        user_id=user.id,
        login=account.username,
        role=role,
        via="web session",
    )


async def _as_chosen(ctx: Context, row: LoginSession, token: str, user: User, account: Account) -> SignedIn:
    """The signed-in user acting as the account their session chose, if they still belong to it with a
    role: that role is checked here at every request, so leaving the organisation (or its suspension) sends
    the session back to the own account at once. Acting as an organisation also names this login as who
    acts (storage.acting), for the audit trail of whatever the request does as it."""
    async with ctx.db.read() as session:
        memberships = tuple(await memberships_of(session, user.id))
    chosen = next((m for m in memberships if m.organisation.id == row.acting_account_id), None)
    if row.acting_account_id is not None and chosen is None:
        async with ctx.db.transaction() as session:
            await set_acting(session, row.id, None)
    if chosen is None:
        return SignedIn(session_id=row.id, token=token, user=user, account=account, memberships=memberships)
    ACTING_STAFF.set(web_staff(user, account, chosen.organisation, chosen.role))
    return SignedIn(
        session_id=row.id,
        token=token,
        user=user,
        account=account,
        acting_as=chosen.organisation,
        staff_role=chosen.role,
        memberships=memberships,
    )


async def _signed_in_as(
    ctx: Context, row: LoginSession, token: str, user: User, account: Account
) -> SignedIn:
    """The session's SignedIn: a restricted one (no acting as anyone else) when the moderators locked the
    login out, else as `_as_chosen`."""
    if restricted_by_moderators(user, account):
        return SignedIn(session_id=row.id, token=token, user=user, account=account, restricted=True)
    return await _as_chosen(ctx, row, token, user, account)


async def session_of(request: Request) -> SignedIn | None:
    """The session of this request (past any second factor), restricted or not, else None. Only what a
    restricted session may reach asks this; everything else asks `signed_in`."""
    if _SCOPE_KEY in request.scope:
        return request.scope[_SCOPE_KEY]  # type: ignore[no-any-return]
    ctx: Context = request.state.ctx
    token = request.cookies.get(SESSION_COOKIE)
    found = await _live_session(ctx, token) if token else None
    result = None
    if found is not None and found[0].second_factor_done and token:
        row, user, account = found
        result = await _signed_in_as(ctx, row, token, user, account)
        now = utcnow()
        if row.last_seen_at + SEEN_GRANULARITY < now:
            async with ctx.db.transaction() as session:
                await mark_seen(session, row.id, now)
    request.scope[_SCOPE_KEY] = result
    return result


async def signed_in(request: Request) -> SignedIn | None:
    """The signed-in user of this request (past any second factor), else None — also None for a restricted
    session, which may act on nothing but its disputes (see the module's docstring)."""
    login = await session_of(request)
    return None if login is None or login.restricted else login


async def restricted_session(request: Request) -> SignedIn | None:
    """The session of this request when it is a restricted one, else None."""
    login = await session_of(request)
    return login if login is not None and login.restricted else None


async def awaiting_second_factor(request: Request) -> tuple[LoginSession, User] | None:
    """The session of this browser that passed the password and waits for its second factor."""
    ctx: Context = request.state.ctx
    token = request.cookies.get(SESSION_COOKIE)
    found = await _live_session(ctx, token) if token else None
    if found is None or found[0].second_factor_done:
        return None
    return found[0], found[1]


async def start_session(request: Request, user: User, *, second_factor_done: bool) -> str:
    """A new session row for `user`; returns the token for `set_session_cookie`."""
    ctx: Context = request.state.ctx
    async with ctx.db.transaction() as session:
        _row, token = await create_login_session(
            session, user, user_agent=user_agent_of(request), second_factor_done=second_factor_done
        )
    return token


async def adopt_session(request: Request, token: str) -> None:
    """Treat this request as made within the session just started with `token` (its cookie goes out with
    the response), so a page it renders carries that session's CSRF token."""
    found = await _live_session(request.state.ctx, token)
    if found is not None and found[0].second_factor_done:
        row, user, account = found
        request.scope[_SCOPE_KEY] = await _signed_in_as(request.state.ctx, row, token, user, account)


def forget_signed_in(request: Request) -> None:
    """This request goes on as a visitor's (its session was just ended): its page has no signed-in parts."""
    request.scope[_SCOPE_KEY] = None


def set_session_cookie(ctx: Context, response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(IDLE_LIFETIME.total_seconds()),
        **cookie_options(ctx),  # type: ignore[arg-type]
    )


def clear_session_cookie(ctx: Context, response: Response) -> None:
    options = cookie_options(ctx)
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=bool(options["secure"]), httponly=True, samesite="lax"
    )


@dataclass(frozen=True)
class FormToken:
    """The CSRF token a page's forms carry, and the cookie to set with the page when it is a new one."""

    token: str
    new_cookie: str | None


async def form_token(request: Request) -> FormToken:
    """The CSRF token of the forms of this page: bound to the login session when signed in, else to the
    browser's CSRF cookie (a new one when it has none)."""
    ctx: Context = request.state.ctx
    login = await session_of(request)
    if login is not None:
        return FormToken(csrf_token(ctx, login.token), None)
    cookie = request.cookies.get(CSRF_COOKIE)
    if cookie:
        return FormToken(csrf_token(ctx, cookie), None)
    cookie = new_csrf_cookie()
    return FormToken(csrf_token(ctx, cookie), cookie)


def set_csrf_cookie(ctx: Context, response: Response, value: FormToken) -> None:
    if value.new_cookie:
        response.set_cookie(CSRF_COOKIE, value.new_cookie, **cookie_options(ctx))  # type: ignore[arg-type]


async def csrf_passes(request: Request, posted_token: str | None) -> bool:
    """Whether a posted form carries the token of this browser (see `form_token`)."""
    ctx: Context = request.state.ctx
    login = await session_of(request)
    binding = login.token if login is not None else request.cookies.get(CSRF_COOKIE)
    return csrf_valid(ctx, binding, posted_token)
