"""Errors of the outbox layer: a local action that cannot be done.

Tree::

    ActionError (422)
    ├── NotFound (404)       the status or account does not exist, or the actor may not see it
    ├── Forbidden (403)      it exists but the actor may not act on it (someone else's status, a block)
    ├── Unprocessable (422)  the request itself is wrong (too long, empty, bad visibility)
    └── BadRequest (400)     a malformed query parameter of an ActivityPub GET (`max_id`, `page`)

The HTTP layer (plein.errors) answers with `status_code` and `{"error": str(error)}`; a 422 also carries
`details`, Mastodon's validation errors keyed by the field at fault (`Unprocessable.field`, "base" when the
request as a whole is wrong) with one of the `ValidationCode`s.
"""

from __future__ import annotations

from enum import StrEnum


class ValidationCode(StrEnum):
    """The codes of Mastodon's validation errors (the Error entity's `details`), one per kind of fault."""

    BLANK = "ERR_BLANK"
    INVALID = "ERR_INVALID"
    TOO_LONG = "ERR_TOO_LONG"
    TOO_SHORT = "ERR_TOO_SHORT"
    TAKEN = "ERR_TAKEN"
    RESERVED = "ERR_RESERVED"
    INCLUSION = "ERR_INCLUSION"
    BLOCKED = "ERR_BLOCKED"
    UNREACHABLE = "ERR_UNREACHABLE"
    ACCEPTED = "ERR_ACCEPTED"


class ActionError(Exception):
    """A local action refused; `status_code` is the HTTP status to answer with."""

    status_code = 422


class NotFound(ActionError):
    status_code = 404


class Forbidden(ActionError):
    status_code = 403


class Unprocessable(ActionError):
    """The request is wrong: `field` names the parameter at fault ("base": the request as a whole), `code`
    says how."""

    status_code = 422

    def __init__(
        self, message: str, *, field: str = "base", code: ValidationCode = ValidationCode.INVALID
    ) -> None:
        super().__init__(message)
        self.field = field
        self.code = code


class BadRequest(ActionError):
    status_code = 400
