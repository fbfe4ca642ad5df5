"""`/web/settings/security`: the password (the current one checked with the login's throttled check; a
change ends every token and web session, and signs this browser in anew), the signed-in browsers and the
authorised apps, each revocable, and the optional TOTP second factor with its one-time recovery codes."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from login.credentials import LoginFailed, LoginThrottled, check_login
from login.sessions import SignedIn, clear_session_cookie, forget_signed_in, set_session_cookie, start_session
from login.totp import code_matches, new_recovery_codes, new_secret, provisioning_uri
from outbox.actions import request_account_deletion
from outbox.errors import ActionError
from registration.errors import RegistrationError
from registration.recovery import change_password
from storage.context import Context
from storage.ids import parse_id
from storage.instance_profile import read_instance_profile
from storage.login_sessions import end_login_session, end_other_login_sessions, user_login_sessions
from storage.models import User
from storage.oauth import AUTHORITY_CHANGED, authorised_apps, revoke_app_for_user
from storage.types import utcnow
from web.pages import render_page
from web.staff.access import posted_by_viewer, see_other, viewer_or_login

PAGE = "/web/settings/security"


async def _page(request: Request, login: SignedIn, *, status_code: int = 200, **values: object) -> Response:
    ctx: Context = request.state.ctx
    async with ctx.db.read() as session:
        sessions = await user_login_sessions(session, login.user.id)
        apps = await authorised_apps(session, login.user.id)
        user = await session.get(User, login.user.id)
    assert user is not None
    values.setdefault("saved", request.query_params.get("saved", ""))
    values.setdefault("deletion_grace_days", ctx.settings.accounts.deletion_grace_days)
    return await render_page(
        request,
        "staff/security.html",
        status_code,
        sessions=sessions,
        current_session_id=login.session_id,
        apps=apps,
        totp_enabled=user.totp_enabled_at is not None,
        recovery_left=len(user.recovery_code_hashes or []),
        **values,
    )


async def security_page(request: Request) -> Response:
    login = await viewer_or_login(request)
    if isinstance(login, Response):
        return login
    return await _page(request, login)


async def _password_is_right(request: Request, login: SignedIn, password: str) -> str:
    """ "" when `password` is the user's, else the error's code (wrong, or too many tries)."""
    ctx: Context = request.state.ctx
    client_address = request.client.host if request.client else None
    try:
        await check_login(ctx, login.account.username, password, client_address)
    except LoginFailed:
        return "wrong_password"
    except LoginThrottled:
        return "throttled"
    return ""


async def new_password(request: Request) -> Response:
    ctx: Context = request.state.ctx
    checked = await posted_by_viewer(request)
    if isinstance(checked, Response):
        return checked
    login, form = checked
    problem = await _password_is_right(request, login, form.get("current_password"))
    if not problem and form.get("new_password") != form.get("confirm_password"):
        problem = "mismatch"
    if not problem:
        try:
            await change_password(ctx, login.user.id, form.get("new_password"))
        except RegistrationError:
            problem = "weak_password"
    if problem:
        return await _page(request, login, status_code=422, password_error=problem)
    # Every session ended with the old password; this browser carries on in a new one.
    async with ctx.db.read() as session:
        user = await session.get(User, login.user.id)
    assert user is not None
    token = await start_session(request, user, second_factor_done=True)
    response = see_other(f"{PAGE}?saved=password")
    set_session_cookie(ctx, response, token)
    return response


async def revoke_session(request: Request) -> Response:
    ctx: Context = request.state.ctx
    checked = await posted_by_viewer(request)
    if isinstance(checked, Response):
        return checked
    login, form = checked
    session_id = parse_id(form.get("session_id"))
    if session_id is not None:
        async with ctx.db.transaction() as session:
            await end_login_session(session, login.user.id, session_id)
    return see_other(f"{PAGE}?saved=session" if session_id != login.session_id else "/")


async def revoke_app(request: Request) -> Response:
    ctx: Context = request.state.ctx
    checked = await posted_by_viewer(request)
    if isinstance(checked, Response):
        return checked
    login, form = checked
    app_id = parse_id(form.get("app_id"))
    if app_id is not None:
        async with ctx.db.transaction() as session:
            revoked = await revoke_app_for_user(session, login.user.id, app_id)
        if revoked:
            ctx.bus.publish(AUTHORITY_CHANGED)  # its open streams end now
    return see_other(f"{PAGE}?saved=app")


async def totp_begin(request: Request) -> Response:
    """Start enrolling: a new secret, kept unused until a code from it is confirmed."""
    ctx: Context = request.state.ctx
    checked = await posted_by_viewer(request)
    if isinstance(checked, Response):
        return checked
    login, _form = checked
    secret = new_secret()
    async with ctx.db.transaction() as session:
        user = await session.get(User, login.user.id)
        assert user is not None
        if user.totp_enabled_at is not None:
            return see_other(PAGE)
        user.totp_secret = secret
    name = (await read_instance_profile(ctx)).name
    uri = provisioning_uri(secret, f"{login.account.username}@{ctx.domain}", name)
    return await _page(request, login, enrolling_secret=secret, enrolling_uri=uri)


async def totp_confirm(request: Request) -> Response:
    ctx: Context = request.state.ctx
    checked = await posted_by_viewer(request)
    if isinstance(checked, Response):
        return checked
    login, form = checked
    codes, hashes = new_recovery_codes()
    async with ctx.db.transaction() as session:
        user = await session.get(User, login.user.id, with_for_update=True)
        assert user is not None
        secret = user.totp_secret
        if user.totp_enabled_at is not None or secret is None or not code_matches(secret, form.get("code")):
            wrong = True
        else:
            wrong = False
            user.totp_enabled_at = utcnow()
            user.recovery_code_hashes = hashes
            await end_other_login_sessions(session, user.id, keep_id=login.session_id)
    if wrong:
        uri = provisioning_uri(
            secret or "", f"{login.account.username}@{ctx.domain}", (await read_instance_profile(ctx)).name
        )
        return await _page(
            request,
            login,
            status_code=422,
            enrolling_secret=secret,
            enrolling_uri=uri,
            totp_error="wrong_code",
        )
    return await _page(request, login, recovery_codes=codes)


async def totp_disable(request: Request) -> Response:
    ctx: Context = request.state.ctx
    checked = await posted_by_viewer(request)
    if isinstance(checked, Response):
        return checked
    login, form = checked
    problem = await _password_is_right(request, login, form.get("current_password"))
    if problem:
        return await _page(request, login, status_code=422, totp_error=problem)
    async with ctx.db.transaction() as session:
        user = await session.get(User, login.user.id)
        assert user is not None
        user.totp_secret, user.totp_enabled_at, user.recovery_code_hashes = None, None, None
    return see_other(f"{PAGE}?saved=totp_off")


async def delete_account(request: Request) -> Response:
    """Self-service deletion, as `POST /api/v1/accounts/delete`: the password again and a ticked box, then
    the account is closed at once and deleted after the grace period (outbox.actions.account_deletion);
    this browser is signed out with every other one."""
    ctx: Context = request.state.ctx
    checked = await posted_by_viewer(request)
    if isinstance(checked, Response):
        return checked
    login, form = checked
    problem = await _password_is_right(request, login, form.get("current_password"))
    if not problem and form.get("confirm") != "yes":
        problem = "not_confirmed"
    if problem:
        return await _page(request, login, status_code=422, deletion_error=problem)
    try:
        due = await request_account_deletion(ctx, login.account.id, actor=f"account:{login.account.username}")
    except ActionError:
        return await _page(request, login, status_code=422, deletion_error="already_requested")
    async with ctx.db.transaction() as session:
        await end_other_login_sessions(session, login.user.id, None)
    forget_signed_in(request)
    response = await render_page(request, "staff/deletion_requested.html", due=due)
    clear_session_cookie(ctx, response)
    return response


routes = [
    Route(f"{PAGE}/delete", delete_account, methods=["POST"]),
    Route(PAGE, security_page, methods=["GET"]),
    Route(f"{PAGE}/password", new_password, methods=["POST"]),
    Route(f"{PAGE}/sessions/revoke", revoke_session, methods=["POST"]),
    Route(f"{PAGE}/apps/revoke", revoke_app, methods=["POST"]),
    Route(f"{PAGE}/totp/begin", totp_begin, methods=["POST"]),
    Route(f"{PAGE}/totp/confirm", totp_confirm, methods=["POST"]),
    Route(f"{PAGE}/totp/disable", totp_disable, methods=["POST"]),
]
