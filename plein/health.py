"""Liveness and readiness probes for process managers and load balancers."""

from __future__ import annotations

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from storage.context import Context


async def livez(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    ctx: Context = request.state.ctx
    try:
        async with ctx.db.read() as session:
            await session.execute(text("SELECT 1"))
    except Exception as error:  # any database failure means "not ready", with the reason
        return JSONResponse({"status": "unavailable", "database": str(error)[:200]}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


routes = [
    Route("/livez", livez, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/health", readyz, methods=["GET"]),  # Mastodon's name for the same check
]
