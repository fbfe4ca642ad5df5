"""The placeholder image Mastodon clients expect for accounts without an avatar or header."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

MISSING_PNG = Path(__file__).parent / "static" / "missing.png"


async def missing_image(request: Request) -> Response:
    return FileResponse(
        MISSING_PNG, media_type="image/png", headers={"Cache-Control": "public, max-age=86400"}
    )


routes = [
    Route("/avatars/original/missing.png", missing_image, methods=["GET", "HEAD"]),
    Route("/headers/original/missing.png", missing_image, methods=["GET", "HEAD"]),
]
