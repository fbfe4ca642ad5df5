"""Errors of moderation actions, each carrying the HTTP status an admin API maps it to (`plein/errors.py`).

ModerationError (422)           the request makes no sense (not a domain, unknown severity)
├── NothingToUndo (404)         unblock / disallow of a domain not listed; no such account, warning or appeal
├── InvalidTerms (422)          a block's terms refused, naming the field (`storage.domains.BlockTerms`)
├── InvalidSetting (422)        an instance setting's or rule's value refused (names the field and problem)
└── AppealRefused (422)         an appeal that cannot be made (no text, too long, too late, made already)
"""

from __future__ import annotations


class ModerationError(Exception):
    """A refused moderation action; nothing was changed."""

    status_code = 422


class InvalidTerms(ModerationError):
    """A domain block's terms that cannot be (an unknown severity, a comment too long)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class NothingToUndo(ModerationError):
    """The block or allow-list entry to remove does not exist."""

    status_code = 404


class InvalidSetting(ModerationError):
    """A value for the instance's settings that cannot be stored: `field` and `problem` (`unknown_field`,
    `blank`, `too_long`, `invalid`) let a page word it."""

    def __init__(self, field: str, problem: str, message: str = "") -> None:
        super().__init__(message or f"{field}: {problem.replace('_', ' ')}")
        self.field = field
        self.problem = problem


class AppealRefused(ModerationError):
    """An appeal that cannot be made: `problem` is `blank`, `too_long`, `appealed`, `overruled` or
    `too_late` (a page words it); nothing is stored."""

    def __init__(self, problem: str, message: str) -> None:
        super().__init__(message)
        self.problem = problem
