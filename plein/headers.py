"""Security headers of every HTML page: one strict Content-Security-Policy, applied by one ASGI middleware.

The pages carry no inline script or style (the stylesheet is `/static/site.css`), so the policy allows only
this origin. A route may set its own value for a directive — the OAuth consent page widens `form-action` to
the one redirect URI its form leads to, since browsers hold the redirect after a form post to that
directive — and the middleware keeps that value and supplies every other directive.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def html_policy(media_origin: str) -> dict[str, str]:
    """Directive → value of the policy of every HTML page; `media_origin` is where uploaded files live."""
    return {
        "default-src": "'self'",
        "img-src": f"'self' {media_origin}",
        "object-src": "'none'",
        "base-uri": "'none'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }


def _directives(policy: str) -> dict[str, str]:
    directives: dict[str, str] = {}
    for part in policy.split(";"):
        name, _, value = part.strip().partition(" ")
        if name:
            directives.setdefault(name.lower(), value.strip())
    return directives


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class SecurityHeadersMiddleware:
    """Pure ASGI: every `text/html` response gets the strict policy (merged with any directive it set
    itself), `nosniff` and no Referer to other sites."""

    def __init__(self, app: ASGIApp, base_url: str) -> None:
        self.app = app
        self.policy = html_policy(_origin(base_url))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if headers.get("content-type", "").lower().startswith("text/html"):
                    own = _directives(headers.get("content-security-policy", ""))
                    merged = {**self.policy, **own}
                    headers["Content-Security-Policy"] = "; ".join(f"{k} {v}" for k, v in merged.items())
                    headers["X-Content-Type-Options"] = "nosniff"
                    headers.setdefault("Referrer-Policy", "same-origin")
            await send(message)

        await self.app(scope, receive, send_with_headers)
