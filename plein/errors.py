"""The one place where errors of every layer become HTTP responses: a JSON body `{"error": "..."}` with the
status code the error type carries. A 422 of any layer is Mastodon's validation error: the body also carries
`details`, `{field: [{"error": code, "description": ...}]}`, with the field and code the error names (the
request as a whole, "base", and `ERR_INVALID` when it names none)."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from apub.errors import ApubError
from clientapi.errors import ApiError
from inbox.errors import InboxError
from moderation.errors import ModerationError
from outbox.errors import ActionError, ValidationCode
from registration.errors import RegistrationError, TooManyAttempts
from storage.transient import DATABASE_ERRORS, transient_cause

logger = logging.getLogger("plein.http")


VALIDATION_FAILED = "Validation failed: "


def validation_details(message: str, field: str, code: str) -> dict[str, list[dict[str, str]]]:
    """Mastodon's `details` of a validation error: the field at fault, the code, and what is wrong (the
    message without its "Validation failed: " lead)."""
    description = message.removeprefix(VALIDATION_FAILED) or message
    return {field: [{"error": code, "description": description}]}


def json_error(
    status_code: int,
    message: str,
    *,
    headers: dict[str, str] | None = None,
    field: str = "base",
    code: str = ValidationCode.INVALID,
) -> JSONResponse:
    """The error response of every layer: `{"error": message}` with `status_code`, plus `details` on a 422."""
    body: dict[str, object] = {"error": message}
    if status_code == 422:
        body["details"] = validation_details(message, field, code)
    return JSONResponse(body, status_code=status_code, headers=headers)


def _unprocessable_response(
    error: Exception, status_code: int, headers: dict[str, str] | None = None
) -> Response:
    """The response of an error object that may name its `field` and `code` (422s do)."""
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    return json_error(
        status_code,
        message,
        headers=headers,
        field=getattr(error, "field", "base"),
        code=getattr(error, "code", ValidationCode.INVALID),
    )


async def http_exception(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    headers = dict(error.headers or {})
    return json_error(error.status_code, str(error.detail), headers=headers)


async def apub_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ApubError)
    logger.info("%s %s refused: %s (%s)", request.method, request.url.path, type(error).__name__, error)
    return json_error(error.status_code, str(error) or type(error).__name__)


async def api_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ApiError)
    if error.status_code == 422:
        logger.info("%s %s refused: %s", request.method, request.url.path, error.message)
    return _unprocessable_response(error, error.status_code, error.headers)


async def action_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ActionError)
    if error.status_code == 422:
        logger.info("%s %s refused: %s", request.method, request.url.path, error)
    return _unprocessable_response(error, error.status_code)


async def inbox_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, InboxError)
    logger.info("%s %s refused: %s (%s)", request.method, request.url.path, type(error).__name__, error)
    return json_error(error.status_code, str(error) or type(error).__name__)


async def moderation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ModerationError)
    return _unprocessable_response(error, error.status_code)


async def registration_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RegistrationError)
    logger.info("%s %s refused: %s", request.method, request.url.path, error.message)
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, TooManyAttempts) else None
    return _unprocessable_response(error, error.status_code, headers)


DATABASE_RETRY_AFTER = 10  # seconds: a dropped connection is replaced, a busy pool frees up, a failover ends


async def database_error(request: Request, error: Exception) -> Response:
    """A transient database error (`storage.transient`: connection lost, too many clients, no pooled
    connection free in time, …) is 503 with Retry-After: clients and remote servers (the inbox's senders)
    try again, and nothing was half done (the request's transaction rolled back). Any other database error
    is a bug, passed on to `unexpected` (500)."""
    cause = transient_cause(error)
    if cause is None:
        raise error
    logger.warning(
        "%s %s answered 503: %s (%s: %s)",
        request.method,
        request.url.path,
        cause,
        type(error).__name__,
        error,
    )
    return json_error(
        503,
        "Service temporarily unavailable, try again later",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER)},
    )


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
        RegistrationError: registration_error,
        **dict.fromkeys(DATABASE_ERRORS, database_error),
        Exception: unexpected,
    }
