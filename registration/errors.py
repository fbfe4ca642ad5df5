"""Errors of sign-up and recovery, each carrying the HTTP status it answers with (`plein/errors.py`); a 422
names the field at fault and Mastodon's validation code.

RegistrationError (422)         a field of the request is wrong (taken name, short password …)
├── RegistrationClosed (403)    this instance's registration mode admits nobody this way
├── TooManyAttempts (429)       too many sign-ups or reset requests from this address lately
├── NotFound (404)              no such account, or no sign-up waiting for approval
└── AlreadyConfirmed (403)      a new confirmation mail for an address already confirmed
"""

from __future__ import annotations

from outbox.errors import ValidationCode


class RegistrationError(Exception):
    """A refused sign-up or recovery step; nothing was changed."""

    status_code = 422

    def __init__(
        self, message: str, *, field: str = "base", code: ValidationCode = ValidationCode.INVALID
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code


class RegistrationClosed(RegistrationError):
    status_code = 403


class TooManyAttempts(RegistrationError):
    status_code = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NotFound(RegistrationError):
    status_code = 404


class AlreadyConfirmed(RegistrationError):
    status_code = 403
