"""The gate of a restricted web session (login.sessions: an account the moderators suspended, or whose login
they disabled, signed in to appeal, as Mastodon lets it). Such a browser reaches its disputes pages
(`/web/disputes`, one warning, the appeal form), the sign-out and the static assets; every other page
answers 403 with a page saying the account is suspended (or its login disabled) and linking to the disputes.

This is the one place that decides it, for every route at once, so a page added later is closed to a
restricted session without knowing of it; and `signed_in` never answers a restricted session, so even a page
this gate let through could not act as that account. Requests carrying their own credentials (an API token,
an HTTP signature) are judged by those, as they are today, not by a browser's cookie."""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from login.sessions import SESSION_COOKIE, restricted_session
from web.pages import error_page

# What a restricted session may reach: exact paths, and the prefixes of whole areas.
REACHABLE_PATHS = frozenset({"/web/disputes", "/logout", "/favicon.ico", "/robots.txt"})
REACHABLE_PREFIXES = ("/web/disputes/", "/static/")


def restricted_may_reach(path: str) -> bool:
    """Whether a restricted session may open `path` (the routes behind it check the session themselves)."""
    return path in REACHABLE_PATHS or path.startswith(REACHABLE_PREFIXES)


def _judged_by_own_credentials(request: Request) -> bool:
    # The client API answers a token by the token (a disabled login's is refused there), federation a
    # signature by the signature: a cookie the browser also sends changes neither.
    return request.url.path.startswith("/api/") or any(
        name in request.headers for name in ("authorization", "signature")
    )


class RestrictedSessionGate:
    """Pure ASGI: a request of a restricted session for anything it may not reach is answered 403 (an HTML
    page naming the measure and linking to the disputes) before any route sees it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        if (
            SESSION_COOKIE not in request.cookies
            or restricted_may_reach(request.url.path)
            or _judged_by_own_credentials(request)
        ):
            await self.app(scope, receive, send)
            return
        login = await restricted_session(request)
        if login is None:
            await self.app(scope, receive, send)
            return
        kind = "account_suspended" if login.account.suspended_at is not None else "login_disabled"
        response = await error_page(request, 403, kind)
        response.headers["Cache-Control"] = "no-store"
        await response(scope, receive, send)
