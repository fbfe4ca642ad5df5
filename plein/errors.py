"""The one place where errors of every layer become HTTP responses: a JSON body `{"error": "..."}` with the
status code the error type carries."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from apub.errors import ApubError
from clientapi.errors import ApiError
from inbox.errors import InboxError
from moderation.errors import ModerationError
from outbox.errors import ActionError

logger = logging.getLogger("plein.http")


def json_error(status_code: int, message: str, *, headers: dict[str, str] | None = None) -> JSONResponse:
    """The error response of every layer: `{"error": message}` with `status_code`."""
    return JSONResponse({"error": message}, status_code=status_code, headers=headers)


async def http_exception(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    headers = dict(error.headers or {})
    return JSONResponse({"error": error.detail}, status_code=error.status_code, headers=headers)


async def apub_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ApubError)
    logger.info("%s %s refused: %s (%s)", request.method, request.url.path, type(error).__name__, error)
    return JSONResponse({"error": str(error) or type(error).__name__}, status_code=error.status_code)


async def api_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ApiError)
    return JSONResponse({"error": error.message}, status_code=error.status_code, headers=error.headers)


async def action_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ActionError)
    return JSONResponse({"error": str(error) or type(error).__name__}, status_code=error.status_code)


async def inbox_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, InboxError)
    logger.info("%s %s refused: %s (%s)", request.method, request.url.path, type(error).__name__, error)
    return JSONResponse({"error": str(error) or type(error).__name__}, status_code=error.status_code)


async def moderation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ModerationError)
    return JSONResponse({"error": str(error) or type(error).__name__}, status_code=error.status_code)


async def unexpected(request: Request, error: Exception) -> Response:
    logger.exception("%s %s crashed", request.method, request.url.path)
    return JSONResponse({"error": "Internal server error"}, status_code=500)


def exception_handlers() -> dict[type[Exception] | int, object]:
    """Handlers keyed by the error types every layer raises; a layer adds its own type here."""
    return {
        HTTPException: http_exception,
        ApubError: apub_error,
        InboxError: inbox_error,
        ApiError: api_error,
        ActionError: action_error,
        ModerationError: moderation_error,
        Exception: unexpected,
    }
