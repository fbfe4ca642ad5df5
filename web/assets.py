"""The fixed files of the site: the pages' stylesheet (`/static/site.css`), the favicon, `robots.txt` and
`/.well-known/security.txt` (RFC 9116). Files come from a fixed list, never a path joined from the request."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

from storage.context import Context
from storage.instance_profile import read_instance_profile
from storage.types import utcnow

STATIC_DIR = Path(__file__).parent / "static"
CACHED = {"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}
# Public pages are for everyone, search engines included; the signed-in interface, the login and the APIs
# are not pages to index.
ROBOTS = """User-agent: *
Disallow: /web/
Disallow: /login
Disallow: /logout
Disallow: /oauth/
Disallow: /api/
Disallow: /admin/
"""
# security.txt must say when it stops being valid; it is written per request, so it never goes stale.
SECURITY_TXT_VALIDITY = timedelta(days=180)


async def stylesheet(request: Request) -> Response:
    return FileResponse(STATIC_DIR / "site.css", media_type="text/css", headers=CACHED)


async def favicon(request: Request) -> Response:
    return FileResponse(STATIC_DIR / "favicon.ico", media_type="image/x-icon", headers=CACHED)


async def robots(request: Request) -> Response:
    return PlainTextResponse(ROBOTS, headers=CACHED)


async def security_contact(ctx: Context) -> str:
    """The `Contact:` of security.txt: the configured one, else the instance's e-mail address, else ""."""
    if ctx.settings.instance.security_contact:
        return ctx.settings.instance.security_contact
    contact_email = (await read_instance_profile(ctx)).contact_email
    return f"mailto:{contact_email}" if contact_email else ""


async def security_txt(request: Request) -> Response:
    ctx: Context = request.state.ctx
    contact = await security_contact(ctx)
    if not contact:
        return PlainTextResponse("Not found", status_code=404)
    expires = (utcnow() + SECURITY_TXT_VALIDITY).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    body = (
        f"Contact: {contact}\n"
        f"Expires: {expires}\n"
        "Preferred-Languages: nl, en\n"
        f"Canonical: {ctx.base_url}/.well-known/security.txt\n"
    )
    return PlainTextResponse(body, headers={"X-Content-Type-Options": "nosniff"})


routes = [
    Route("/static/site.css", stylesheet, methods=["GET", "HEAD"]),
    Route("/favicon.ico", favicon, methods=["GET", "HEAD"]),
    Route("/robots.txt", robots, methods=["GET", "HEAD"]),
    Route("/.well-known/security.txt", security_txt, methods=["GET", "HEAD"]),
]
