"""Mastodon's Admin::Account entity of a local account: what moderators see of a login."""

from __future__ import annotations

from typing import Any

from clientapi.entities.accounts import account_to_entity, role_to_entity
from clientapi.entities.common import format_time
from storage.context import Context
from storage.models import Account, User


def admin_account_to_entity(account: Account, user: User, ctx: Context) -> dict[str, Any]:
    """The Admin::Account entity (no sign-up address is kept, so `ip` and `ips` are empty)."""
    return {
        "id": str(account.id),
        "username": account.username,
        "domain": None,
        "created_at": format_time(user.created_at),
        "email": user.email or "",
        "ip": None,
        "ips": [],
        "locale": user.locale,
        "invite_request": user.sign_up_reason,
        "role": role_to_entity(user),
        "confirmed": user.confirmed_at is not None,
        "approved": user.approved,
        "disabled": False,
        "silenced": account.silenced_at is not None,
        "suspended": account.suspended_at is not None,
        "sensitized": False,
        "account": account_to_entity(account, ctx),
        "created_by_application_id": None,
        "invited_by_account_id": None,
    }
