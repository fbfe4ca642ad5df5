"""CORS for the public API surfaces (`/api`, `/oauth`, `/.well-known`, `/nodeinfo`), as a pure ASGI middleware.

Any origin may call them: they are authenticated with Bearer tokens, never cookies, so allowing every origin
without credentials gives a browser app nothing it could not already do. The login page itself
(`/oauth/authorize`) uses a cookie, but a cross-origin page can neither read it nor the CSRF token it guards.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CORS_PREFIXES = ("/api/", "/oauth/", "/.well-known/", "/nodeinfo")
ALLOWED_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
EXPOSED_HEADERS = "Link, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, X-Request-Id"
PREFLIGHT_MAX_AGE = "86400"


def _covered(path: str) -> bool:
    return path.startswith(CORS_PREFIXES) or path in ("/api", "/oauth")


class CorsMiddleware:
    """Adds CORS headers to covered paths and answers their preflight `OPTIONS` requests itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _covered(scope["path"]):
            await self.app(scope, receive, send)
            return
        request_headers = {name.lower(): value for name, value in scope["headers"]}
        origin = request_headers.get(b"origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and b"access-control-request-method" in request_headers:
            await self._preflight(request_headers, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if not name.lower().startswith(b"access-control-")
                ]
                headers += [
                    (b"access-control-allow-origin", b"*"),
                    (b"access-control-expose-headers", EXPOSED_HEADERS.encode()),
                    (b"vary", b"Origin"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(self, request_headers: dict[bytes, bytes], send: Send) -> None:
        requested_headers = request_headers.get(b"access-control-request-headers", b"")
        headers = [
            (b"access-control-allow-origin", b"*"),
            (b"access-control-allow-methods", ALLOWED_METHODS.encode()),
            (
                b"access-control-allow-headers",
                requested_headers or b"Authorization, Content-Type, Idempotency-Key",
            ),
            (b"access-control-expose-headers", EXPOSED_HEADERS.encode()),
            (b"access-control-max-age", PREFLIGHT_MAX_AGE.encode()),
            (b"vary", b"Origin"),
            (b"content-length", b"0"),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
