"""Errors of the client API. Each carries the HTTP status it answers with; `plein.errors` renders them as
`{"error": message}`, and a 422 as Mastodon's validation error, with `details` naming the field and the
`ValidationCode` (`{"field": [{"error": "ERR_BLANK", "description": "..."}]}`).

    ApiError
    ├── Unauthorized          401  no token, or a token that is unknown, revoked or expired
    ├── Forbidden             403  the token lacks a scope, or the account may not do this
    ├── NotFound              404
    ├── Unprocessable         422  a parameter is missing or malformed
    └── TooManyRequests       429
"""

from __future__ import annotations

from outbox.errors import ValidationCode

__all__ = [
    "ApiError",
    "Forbidden",
    "NotFound",
    "TooManyRequests",
    "Unauthorized",
    "Unprocessable",
    "ValidationCode",
]


class ApiError(Exception):
    """An error answered to a client as `{"error": message}` with `status_code`."""

    status_code = 400

    def __init__(
        self, status_code: int | None = None, message: str = "", *, headers: dict[str, str] | None = None
    ):
        if status_code is not None:
            self.status_code = status_code
        self.message = message or type(self).__name__
        self.headers = headers or {}
        super().__init__(self.message)


class Unauthorized(ApiError):
    status_code = 401

    def __init__(self, message: str = "The access token is invalid") -> None:
        super().__init__(None, message, headers={"WWW-Authenticate": 'Bearer realm="Plein"'})


class Forbidden(ApiError):
    status_code = 403

    def __init__(self, message: str = "This action is outside the authorized scopes") -> None:
        super().__init__(None, message)


class NotFound(ApiError):
    status_code = 404

    def __init__(self, message: str = "Record not found") -> None:
        super().__init__(None, message)


class Unprocessable(ApiError):
    """A parameter is missing or malformed: `field` names it ("base" when the request as a whole is wrong),
    `code` says how."""

    status_code = 422

    def __init__(
        self, message: str, *, field: str = "base", code: ValidationCode = ValidationCode.INVALID
    ) -> None:
        super().__init__(None, message)
        self.field = field
        self.code = code


class TooManyRequests(ApiError):
    status_code = 429

    def __init__(self, message: str = "Too many requests", *, retry_after: int | None = None) -> None:
        super().__init__(None, message)
        if retry_after is not None:
            self.headers["Retry-After"] = str(retry_after)
