"""Errors of the outbox layer: a local action that cannot be done.

Tree::

    ActionError (422)
    ├── NotFound (404)       the status or account does not exist, or the actor may not see it
    ├── Forbidden (403)      it exists but the actor may not act on it (someone else's status, a block)
    ├── Unprocessable (422)  the request itself is wrong (too long, empty, bad visibility)
    └── BadRequest (400)     a malformed query parameter of an ActivityPub GET (`max_id`, `page`)

The HTTP layer (plein.errors) answers with `status_code` and `{"error": str(error)}`.
"""

from __future__ import annotations


class ActionError(Exception):
    """A local action refused; `status_code` is the HTTP status to answer with."""

    status_code = 422


class NotFound(ActionError):
    status_code = 404


class Forbidden(ActionError):
    status_code = 403


class Unprocessable(ActionError):
    status_code = 422


class BadRequest(ActionError):
    status_code = 400
