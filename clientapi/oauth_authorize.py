"""`GET/POST /oauth/authorize`: the server-rendered login and consent page of the authorization-code flow.

The page is only shown for a known client and one of its registered redirect URIs (compared exactly);
otherwise it says why instead of redirecting anywhere. The form carries a CSRF token bound to a cookie; a
successful login leaves a signed session cookie so the next app only asks for consent. Approval redirects to
the redirect URI with `code` and `state`, or, for `urn:ietf:wg:oauth:2.0:oob`, shows the code.
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
from clientapi.errors import TooManyRequests
from clientapi.login import LoginFailed, check_login
from clientapi.oauth_token import OAuthError, granted_scopes
from clientapi.params import Params, read_params
from clientapi.signing import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    SESSION_LIFETIME_SECONDS,
    csrf_token,
    csrf_valid,
    new_csrf_cookie,
    read_session,
    session_cookie,
)
from storage.context import Context
from storage.models import Account, OAuthApp, User
from storage.oauth import app_by_client_id, create_code

SCOPE_DESCRIPTIONS = {
    "read": "read all your account's data",
    "write": "modify all your account's data: post, favourite, boost, follow",
    "follow": "see and change who you follow, block and mute",
    "push": "receive push notifications",
    "profile": "see your profile only",
}
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


def _render(request: Request, template: str, status_code: int = 200, **values: object) -> HTMLResponse:
    ctx: Context = request.state.ctx
    page = request.state.templates.get_template(template).render(
        instance_name=ctx.settings.instance.name, domain=ctx.domain, **values
    )
    return HTMLResponse(page, status_code=status_code, headers=PAGE_HEADERS)


def _cookie_options(ctx: Context) -> dict[str, object]:
    return {
        "httponly": True,
        "samesite": "lax",
        "secure": ctx.base_url.startswith("https://"),
        "path": "/oauth",
    }


def _redirect_with(redirect_uri: str, values: dict[str, str]) -> RedirectResponse:
    parts = urlsplit(redirect_uri)
    query = "&".join(filter(None, [parts.query, urlencode({k: v for k, v in values.items() if v})]))
    return RedirectResponse(urlunsplit(parts._replace(query=query)), status_code=302, headers=PAGE_HEADERS)


async def _session_user(ctx: Context, request: Request) -> tuple[User, Account] | None:
    login_session = read_session(ctx, request.cookies.get(SESSION_COOKIE))
    if login_session is None:
        return None
    async with ctx.db.read() as session:
        user = await session.get(User, login_session.user_id)
        account = await session.get(Account, user.account_id) if user else None
    if user is None or account is None or account.suspended_at is not None:
        return None
    if (
        user.password_changed_at is not None
        and user.password_changed_at.timestamp() > login_session.issued_at
    ):
        return None  # a password change ends every session
    return user, account


async def _consent_page(
    request: Request, wanted: AuthorizeRequest, *, error: str = "", username: str = "", status_code: int = 200
) -> Response:
    ctx: Context = request.state.ctx
    cookie_value = request.cookies.get(CSRF_COOKIE) or new_csrf_cookie()
    params = await read_params(request)
    signed_in = None if params.get_bool("force_login") else await _session_user(ctx, request)
    switch_query = urlencode(
        {
            "client_id": wanted.app.client_id,
            "redirect_uri": wanted.redirect_uri,
            "response_type": "code",
            "scope": wanted.scope,
            "state": wanted.state,
            "code_challenge": wanted.code_challenge,
            "code_challenge_method": wanted.code_challenge_method,
            "force_login": "true",
        }
    )
    response = _render(
        request,
        "oauth/authorize.html",
        status_code=status_code,
        app_name=wanted.app.name,
        # Rows stored before websites were validated may hold anything: only a web URL becomes a link.
        app_website=shown_website(wanted.app.website),
        scopes=parse_scopes(wanted.scope),
        scope_descriptions=SCOPE_DESCRIPTIONS,
        scope=wanted.scope,
        client_id=wanted.app.client_id,
        redirect_uri=wanted.redirect_uri,
        state=wanted.state,
        code_challenge=wanted.code_challenge,
        code_challenge_method=wanted.code_challenge_method,
        csrf_token=csrf_token(ctx, cookie_value),
        session_username=signed_in[1].username if signed_in else "",
        switch_account_url=f"/oauth/authorize?{switch_query}",
        username=username,
        error=error,
    )
    response.set_cookie(CSRF_COOKIE, cookie_value, **_cookie_options(ctx))  # type: ignore[arg-type]
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
        return _render(request, "oauth/error.html", status_code=400, message=str(problem))
    except OAuthError as error:
        return _refuse(request, params, error)
    return await _consent_page(request, wanted)


def _refuse(request: Request, params: Params, error: OAuthError) -> Response:
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
    return _render(request, "oauth/error.html", status_code=400, message=error.description)


async def decide(request: Request) -> Response:
    ctx: Context = request.state.ctx
    params = await read_params(request)
    if not csrf_valid(ctx, request.cookies.get(CSRF_COOKIE), params.get_str("csrf_token")):
        return _render(
            request,
            "oauth/error.html",
            status_code=403,
            message="The form expired or was not sent from this site.",
        )
    try:
        wanted = await _authorize_request(ctx, params)
    except AuthorizeProblem as problem:
        return _render(request, "oauth/error.html", status_code=400, message=str(problem))
    except OAuthError as error:
        return _refuse(request, params, error)
    if params.get_str("decision") != "approve":
        return _refuse(request, params, OAuthError("access_denied", "The resource owner denied the request."))

    signed_in = await _session_user(ctx, request) if params.get_bool("use_session") else None
    if signed_in is None:
        login = params.get_str("username") or ""
        client_address = request.client.host if request.client else None
        try:
            signed_in = await check_login(ctx, login, params.get_str("password") or "", client_address)
        except LoginFailed:
            return await _consent_page(
                request, wanted, error="Invalid login or password.", username=login, status_code=422
            )
        except TooManyRequests as error:
            return await _consent_page(request, wanted, error=error.message, username=login, status_code=429)
        user, account = signed_in
        if account.suspended_at is not None or not user.approved:
            return await _consent_page(
                request, wanted, error="This login is disabled.", username=login, status_code=403
            )
    user, _account = signed_in
    async with ctx.db.transaction() as session:
        code = await create_code(
            session,
            app=wanted.app,
            user=user,
            redirect_uri=wanted.redirect_uri,
            scopes=wanted.scope,
            code_challenge=wanted.code_challenge or None,
            code_challenge_method=wanted.code_challenge_method or None,
        )
    if wanted.redirect_uri == OOB_REDIRECT_URI:
        response: Response = _render(request, "oauth/code.html", app_name=wanted.app.name, code=code)
    else:
        response = _redirect_with(wanted.redirect_uri, {"code": code, "state": wanted.state})
    response.set_cookie(
        SESSION_COOKIE,
        session_cookie(ctx, user.id),
        max_age=SESSION_LIFETIME_SECONDS,
        **_cookie_options(ctx),  # type: ignore[arg-type]
    )
    return response


routes = [
    Route("/oauth/authorize", show, methods=["GET"]),
    Route("/oauth/authorize/", show, methods=["GET"]),
    Route("/oauth/authorize", decide, methods=["POST"]),
    Route("/oauth/authorize/", decide, methods=["POST"]),
]
