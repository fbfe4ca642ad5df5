"""Errors of moderation actions, each carrying the HTTP status an admin API maps it to (`plein/errors.py`).

ModerationError (422)           the request makes no sense (not a domain, unknown severity)
└── NothingToUndo (404)         unblock / disallow of a domain that is not blocked / not listed
"""

from __future__ import annotations


class ModerationError(Exception):
    """A refused moderation action; nothing was changed."""

    status_code = 422


class NothingToUndo(ModerationError):
    """The block or allow-list entry to remove does not exist."""

    status_code = 404
