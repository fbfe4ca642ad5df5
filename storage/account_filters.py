"""The account lists staff search (the admin API's and the web moderation pages'): which rows are accounts
to moderate, and the conditions of their filters, so both lists mean the same by "pending" or "silenced"."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, false, func, or_, select

from storage.models import Account, User

ACCOUNT_STATES = ("active", "pending", "disabled", "sensitized", "silenced", "suspended")


def moderated_accounts() -> Select[tuple[Account, User]]:
    """Accounts with their login (None for a remote one); local rows without a login (the instance actor)
    are no accounts to moderate."""
    return (
        select(Account, User)
        .outerjoin(User, User.account_id == Account.id)
        .where(or_(Account.domain.is_not(None), User.id.is_not(None)))
    )


def text_matches(column: Any, value: str, *, prefix: bool = False) -> ColumnElement[bool]:
    """`column` contains (or, with `prefix`, starts with) `value`, case-insensitively, wildcards escaped."""
    escaped = value.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(column).like(f"{escaped}%" if prefix else f"%{escaped}%", escape="\\")


def state_condition(state: str) -> ColumnElement[bool]:
    """The accounts in `state` (one of ACCOUNT_STATES; nothing for another)."""
    return {
        "active": Account.suspended_at.is_(None),
        "pending": User.approved.is_(False),
        "disabled": User.disabled_at.is_not(None),
        "sensitized": Account.sensitized_at.is_not(None),
        "silenced": Account.silenced_at.is_not(None),
        "suspended": Account.suspended_at.is_not(None),
    }.get(state, false())
