"""The web login: `/login` (password), `/login/second-factor` (TOTP or recovery code, when the account has
one) and `/logout`. The password check and its throttling are the API's (login.credentials); the session is
login.sessions'. After the login the browser goes to `next` when that is a path on this site — except a login
the moderators locked out (suspended, or disabled), which goes to its restricted session's disputes pages."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from login.credentials import LoginFailed, LoginThrottled, check_login
from login.second_factor import check_second_factor
from login.sessions import (
    awaiting_second_factor,
    clear_session_cookie,
    session_of,
    set_session_cookie,
    signed_in,
    start_session,
)
from storage.accounts import may_sign_in, may_sign_in_restricted
from storage.context import Context
from storage.instance_profile import read_instance_profile
from storage.login_sessions import end_login_session, finish_second_factor
from web.forms import posted_form
from web.pages import error_page, render_page

AFTER_LOGIN = "/web/home"
DISPUTES = "/web/disputes"  # where a login the moderators locked out goes: its restricted session's pages
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "same-origin"}


def local_path(value: str | None) -> str:
    """`value` when it is a path on this site (never another host: `//host`, `/\\host`), else the home page."""
    if value and value.startswith("/") and not value.startswith(("//", "/\\")) and "\n" not in value:
        return value
    return AFTER_LOGIN


def _see(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=NO_STORE)


async def _login_form(
    request: Request, *, error: str = "", username: str = "", status_code: int = 200
) -> Response:
    ctx: Context = request.state.ctx
    return await render_page(
        request,
        "staff/login.html",
        status_code,
        form=True,
        error=error,
        username=username,
        next=local_path(request.query_params.get("next")),
        # Where a visitor goes from here: sign up when anyone may, reset a password when mail can be sent.
        sign_up_open=(await read_instance_profile(ctx)).admits_anyone,
        password_reset=bool(ctx.settings.mail.host),
    )


async def login_page(request: Request) -> Response:
    if await signed_in(request) is not None:
        return _see(local_path(request.query_params.get("next")))
    return await _login_form(request)


async def login(request: Request) -> Response:
    ctx: Context = request.state.ctx
    form = await posted_form(request)
    if form is None:
        return await error_page(request, 403, "form_expired")
    username = form.get("username", "")
    next_path = local_path(form.get("next"))
    client_address = request.client.host if request.client else None
    try:
        user, account = await check_login(ctx, username, form.get("password", ""), client_address)
    except LoginFailed:
        return await _login_form(request, error="login_failed", username=username, status_code=422)
    except LoginThrottled:
        return await _login_form(request, error="throttled", username=username, status_code=429)
    if not may_sign_in(user, account) and may_sign_in_restricted(user, account):
        # Locked out by the moderators: a restricted session, to read their decisions and appeal them
        # (login.sessions, web.restricted), as Mastodon lets a suspended account sign in to appeal.
        next_path = DISPUTES
    elif not may_sign_in(user, account):
        # A login the moderators disabled is told so; any other refusal says only that it is disabled.
        error = "disabled_by_staff" if user.disabled_at is not None else "disabled"
        return await _login_form(request, error=error, username=username, status_code=403)
    second_factor = user.totp_enabled_at is not None
    token = await start_session(request, user, second_factor_done=not second_factor)
    if second_factor:
        response = _see(f"/login/second-factor?{urlencode({'next': next_path})}")
    else:
        response = _see(next_path)
    set_session_cookie(ctx, response, token)
    return response


async def second_factor_page(request: Request) -> Response:
    if await awaiting_second_factor(request) is None:
        return _see("/login")
    return await render_page(
        request, "staff/second_factor.html", form=True, next=local_path(request.query_params.get("next"))
    )


async def second_factor(request: Request) -> Response:
    ctx: Context = request.state.ctx
    form = await posted_form(request)
    if form is None:
        return await error_page(request, 403, "form_expired")
    waiting = await awaiting_second_factor(request)
    if waiting is None:
        return _see("/login")
    row, user = waiting
    next_path = local_path(form.get("next"))
    try:
        passed = await check_second_factor(ctx, user.id, form.get("code", ""))
    except LoginThrottled:
        return await render_page(
            request, "staff/second_factor.html", 429, form=True, next=next_path, error="throttled"
        )
    if not passed:
        return await render_page(
            request, "staff/second_factor.html", 422, form=True, next=next_path, error="wrong_code"
        )
    async with ctx.db.transaction() as session:
        token = await finish_second_factor(session, row.id)
    response = _see(next_path)
    set_session_cookie(ctx, response, token)
    return response


async def logout(request: Request) -> Response:
    ctx: Context = request.state.ctx
    form = await posted_form(request)
    if form is None:
        return await error_page(request, 403, "form_expired")
    login_now = await session_of(request)  # a restricted session signs out too
    if login_now is not None:
        async with ctx.db.transaction() as session:
            await end_login_session(session, login_now.user.id, login_now.session_id)
    elif (waiting := await awaiting_second_factor(request)) is not None:
        # A browser half way through its second factor may give up too.
        async with ctx.db.transaction() as session:
            await end_login_session(session, waiting[1].id, waiting[0].id)
    response = _see("/")
    clear_session_cookie(ctx, response)
    return response


routes = [
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/login/second-factor", second_factor_page, methods=["GET"]),
    Route("/login/second-factor", second_factor, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
