"""`GET/POST /oauth/authorize`: the server-rendered login and consent page of the authorization-code flow.

The page is only shown for a known client and one of its registered redirect URIs (compared exactly);
otherwise it says why instead of redirecting anywhere. The form carries a CSRF token (login.sessions); a
successful login starts a web login session (the same as the web interface's, `login.sessions`), so the next
app only asks for consent. An account with a second factor signs in on the web login page first. Approval
redirects to the redirect URI with `code` and `state`, or, for `urn:ietf:wg:oauth:2.0:oob`, shows the code.
The pages are rendered by `request.state.pages` (web.templating.Pages, handed down by the lifespan).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from clientapi.app_urls import OOB_REDIRECT_URI, shown_website
from clientapi.auth import parse_scopes
from clientapi.oauth_token import OAuthError, granted_scopes
from clientapi.params import Params, read_params
from login.credentials import LoginFailed, LoginThrottled, check_login
from login.sessions import adopt_session, csrf_passes, set_session_cookie, signed_in, start_session
from storage.accounts import may_sign_in
from storage.context import Context
from storage.models import Account, OAuthApp, User
from storage.oauth import app_by_client_id, create_code
from storage.organisations import memberships_of

# The consent page must never be framed by another site (clickjacking) nor leak the code in a Referer; the rest
# of its Content-Security-Policy (frame-ancestors 'none' included) comes from plein.headers, as for every page.
PAGE_HEADERS = {
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
# What `form-action` may name besides 'self': a scheme, or a scheme and host[:port], nothing else.
_CSP_SOURCE = re.compile(r"[a-z][a-z0-9+.-]*:(//[A-Za-z0-9.:\[\]-]+)?")


class AuthorizeProblem(Exception):
    """A request that cannot be shown a consent page (unknown client, unregistered redirect URI)."""


@dataclass(frozen=True)
class AuthorizeRequest:
    app: OAuthApp
    redirect_uri: str
    scope: str
    state: str
    code_challenge: str
    code_challenge_method: str


async def _authorize_request(ctx: Context, params: Params) -> AuthorizeRequest:
    client_id = params.get_str("client_id") or ""
    async with ctx.db.read() as session:
        app = await app_by_client_id(session, client_id) if client_id else None
    if app is None:
        raise AuthorizeProblem("This application is not registered here (unknown client_id).")
    redirect_uri = params.get_str("redirect_uri") or ""
    registered = [str(uri) for uri in app.redirect_uris or []]
    if not redirect_uri and len(registered) == 1:
        redirect_uri = registered[0]
    if redirect_uri not in registered:
        raise AuthorizeProblem("The redirect_uri is not one this application registered.")
    if (params.get_str("response_type") or "code") != "code":
        raise OAuthError("unsupported_response_type", "Only response_type=code is supported.")
    scope = granted_scopes(params.get_str("scope"), app)
    code_challenge = params.get_str("code_challenge") or ""
    method = params.get_str("code_challenge_method") or ("S256" if code_challenge else "")
    if code_challenge and method != "S256":
        raise OAuthError("invalid_request", "Only the S256 code challenge method is supported.")
    return AuthorizeRequest(
        app=app,
        redirect_uri=redirect_uri,
        scope=scope,
        state=params.get_str("state") or "",
        code_challenge=code_challenge,
        code_challenge_method=method,
    )


async def _render(request: Request, template: str, status_code: int = 200, **values: object) -> HTMLResponse:
    response: HTMLResponse = await request.state.pages.respond(
        request, template, status_code=status_code, headers=PAGE_HEADERS, form=True, **values
    )
    return response


def _redirect_with(redirect_uri: str, values: dict[str, str]) -> RedirectResponse:
    parts = urlsplit(redirect_uri)
    query = "&".join(filter(None, [parts.query, urlencode({k: v for k, v in values.items() if v})]))
    return RedirectResponse(urlunsplit(parts._replace(query=query)), status_code=302, headers=PAGE_HEADERS)


async def _session_user(request: Request) -> tuple[User, Account] | None:
    login = await signed_in(request)
    return (login.user, login.account) if login is not None else None


def _consent_url(wanted: AuthorizeRequest, *, force_login: bool = False) -> str:
    """The consent page's own address for this request (after a login, or to log in as someone else)."""
    query = {
        "client_id": wanted.app.client_id,
        "redirect_uri": wanted.redirect_uri,
        "response_type": "code",
        "scope": wanted.scope,
        "state": wanted.state,
        "code_challenge": wanted.code_challenge,
        "code_challenge_method": wanted.code_challenge_method,
    }
    if force_login:
        query["force_login"] = "true"
    return f"/oauth/authorize?{urlencode(query)}"


async def _consent_page(
    request: Request,
    wanted: AuthorizeRequest,
    *,
    error: str = "",
    username: str = "",
    status_code: int = 200,
    signed_in: tuple[User, Account] | None = None,
) -> Response:
    params = await read_params(request)
    session_user = signed_in
    if session_user is None and not params.get_bool("force_login"):
        session_user = await _session_user(request)
    ctx: Context = request.state.ctx
    memberships = []
    if session_user is not None:
        async with ctx.db.read() as session:
            memberships = await memberships_of(session, session_user[0].id)
    response = await _render(
        request,
        "oauth/authorize.html",
        status_code=status_code,
        app_name=wanted.app.name,
        # Rows stored before websites were validated may hold anything: only a web URL becomes a link.
        app_website=shown_website(wanted.app.website),
        scopes=parse_scopes(wanted.scope),
        scope=wanted.scope,
        client_id=wanted.app.client_id,
        redirect_uri=wanted.redirect_uri,
        state=wanted.state,
        code_challenge=wanted.code_challenge,
        code_challenge_method=wanted.code_challenge_method,
        session_username=session_user[1].username if session_user else "",
        session_account_id=str(session_user[1].id) if session_user else "",
        # The organisations this login may act for: the app can be given one of them instead.
        memberships=memberships,
        switch_account_url=_consent_url(wanted, force_login=True),
        username=username,
        error=error,
    )
    response.headers["Content-Security-Policy"] = _form_action(wanted.redirect_uri)
    return response


def _form_action(redirect_uri: str) -> str:
    """The consent form's `form-action`: this site, and where approval redirects to (browsers hold a form's
    redirect to the same directive) — the redirect URI's origin, or its scheme for a native app."""
    if redirect_uri == OOB_REDIRECT_URI:
        return "form-action 'self'"
    parts = urlsplit(redirect_uri)
    if parts.scheme in ("http", "https"):
        source = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
    else:
        source = f"{parts.scheme}:"
    if not _CSP_SOURCE.fullmatch(source):
        return "form-action 'self'"  # nothing a policy could carry safely: approval will not redirect
    return f"form-action 'self' {source}"


async def show(request: Request) -> Response:
    ctx: Context = request.state.ctx
    params = await read_params(request)
    try:
        wanted = await _authorize_request(ctx, params)
    except AuthorizeProblem as problem:
        return await _render(request, "oauth/error.html", status_code=400, message=str(problem))
    except OAuthError as error:
        return await _refuse(request, params, error)
    return await _consent_page(request, wanted)


async def _refuse(request: Request, params: Params, error: OAuthError) -> Response:
    # The client and redirect URI were valid (checked first), so the error may go back to the client.
    redirect_uri = params.get_str("redirect_uri") or ""
    if redirect_uri and redirect_uri != OOB_REDIRECT_URI:
        return _redirect_with(
            redirect_uri,
            {
                "error": error.error,
                "error_description": error.description,
                "state": params.get_str("state") or "",
            },
        )
    return await _render(request, "oauth/error.html", status_code=400, message=error.description)


async def decide(request: Request) -> Response:
    ctx: Context = request.state.ctx
    params = await read_params(request)
    if not await csrf_passes(request, params.get_str("csrf_token")):
        return await _render(
            request,
            "oauth/error.html",
            status_code=403,
            message="The form expired or was not sent from this site.",
        )
    try:
        wanted = await _authorize_request(ctx, params)
    except AuthorizeProblem as problem:
        return await _render(request, "oauth/error.html", status_code=400, message=str(problem))
    except OAuthError as error:
        return await _refuse(request, params, error)
    if params.get_str("decision") != "approve":
        return await _refuse(
            request, params, OAuthError("access_denied", "The resource owner denied the request.")
        )

    new_session_token = None
    session_user = await _session_user(request) if params.get_bool("use_session") else None
    if session_user is None:
        login = params.get_str("username") or ""
        client_address = request.client.host if request.client else None
        try:
            session_user = await check_login(ctx, login, params.get_str("password") or "", client_address)
        except LoginFailed:
            return await _consent_page(request, wanted, error="login_failed", username=login, status_code=422)
        except LoginThrottled:
            return await _consent_page(request, wanted, error="throttled", username=login, status_code=429)
        user, account = session_user
        if not may_sign_in(user, account):
            return await _consent_page(request, wanted, error="disabled", username=login, status_code=403)
        if user.totp_enabled_at is not None:
            # The password alone is not the whole login of this account: the web login asks the second
            # factor, then brings the browser back here.
            return RedirectResponse(f"/login?{urlencode({'next': _consent_url(wanted)})}", status_code=303)
        new_session_token = await start_session(request, user, second_factor_done=True)
    user, _account = session_user
    async with ctx.db.read() as session:
        memberships = await memberships_of(session, user.id)
    act_as = params.get_str("act_as")
    if memberships and act_as is None:
        # Signed in just now on a login that belongs to organisations: ask which account the app acts for.
        if new_session_token is not None:
            await adopt_session(request, new_session_token)
        response = await _consent_page(request, wanted, signed_in=session_user)
        if new_session_token is not None:
            set_session_cookie(ctx, response, new_session_token)
        return response
    acting_account_id = None
    if act_as and act_as != str(user.account_id):
        chosen = [m for m in memberships if str(m.organisation.id) == act_as]
        if not chosen:
            return await _render(
                request, "oauth/error.html", status_code=403, message="You are not a member of that account."
            )
        acting_account_id = chosen[0].organisation.id
    async with ctx.db.transaction() as session:
        code = await create_code(
            session,
            app=wanted.app,
            user=user,
            redirect_uri=wanted.redirect_uri,
            scopes=wanted.scope,
            code_challenge=wanted.code_challenge or None,
            code_challenge_method=wanted.code_challenge_method or None,
            acting_account_id=acting_account_id,
        )
    if wanted.redirect_uri == OOB_REDIRECT_URI:
        response: Response = await _render(request, "oauth/code.html", app_name=wanted.app.name, code=code)
    else:
        response = _redirect_with(wanted.redirect_uri, {"code": code, "state": wanted.state})
    if new_session_token is not None:
        set_session_cookie(ctx, response, new_session_token)
    return response


routes = [
    Route("/oauth/authorize", show, methods=["GET"]),
    Route("/oauth/authorize/", show, methods=["GET"]),
    Route("/oauth/authorize", decide, methods=["POST"]),
    Route("/oauth/authorize/", decide, methods=["POST"]),
]
