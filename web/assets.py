"""The static files of the HTML pages (`/static/...`): a fixed list, never a path joined from the request."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

STATIC_DIR = Path(__file__).parent / "static"


async def stylesheet(request: Request) -> Response:
    return FileResponse(
        STATIC_DIR / "site.css",
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


routes = [Route("/static/site.css", stylesheet, methods=["GET", "HEAD"])]
