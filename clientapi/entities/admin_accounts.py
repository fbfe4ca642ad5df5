"""Mastodon's Admin::Account entity of a local account: what moderators see of a login."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from clientapi.entities.accounts import account_to_entity, role_to_entity
from clientapi.entities.common import format_time
from storage.appeals import appeal_state
from storage.context import Context
from storage.models import Account, AccountWarning, Appeal, User

WaitingAppeals = Sequence[tuple[Appeal, AccountWarning]]


def _appeals_to_entities(appeals: WaitingAppeals) -> list[dict[str, Any]]:
    """Plein's `pending_appeals`: the account's appeals waiting for the moderators (Mastodon's Admin::Account
    has none; its admin sees them on the web), each with the warning it is against."""
    return [
        {
            "id": str(appeal.id),
            "text": appeal.text,
            "state": appeal_state(appeal),
            "created_at": format_time(appeal.created_at),
            "account_warning_id": str(warning.id),
            "action": warning.action,
        }
        for appeal, warning in appeals
    ]


def admin_account_to_entity(
    account: Account, user: User | None, ctx: Context, *, appeals: WaitingAppeals
) -> dict[str, Any]:
    """The Admin::Account entity (no sign-up address is kept, so `ip` and `ips` are empty), with Plein's
    `pending_appeals` (`storage.appeals.pending_appeals_of`). A remote account has no login (`user` None):
    no e-mail, the role of nobody, as Mastodon shows it."""
    if user is None:
        return {
            "id": str(account.id),
            "username": account.username,
            "domain": account.domain,
            "created_at": format_time(account.created_at),
            "email": "",
            "ip": None,
            "ips": [],
            "locale": "",
            "invite_request": None,
            "role": role_to_entity(User(role="user")),
            "confirmed": False,
            "approved": False,
            "disabled": False,
            "silenced": account.silenced_at is not None,
            "suspended": account.suspended_at is not None,
            "sensitized": account.sensitized_at is not None,
            "account": account_to_entity(account, ctx),
            "created_by_application_id": None,
            "invited_by_account_id": None,
            "pending_appeals": _appeals_to_entities(appeals),
        }
    return {
        "id": str(account.id),
        "username": account.username,
        "domain": account.domain,
        "created_at": format_time(user.created_at),
        "email": user.email or "",
        "ip": None,
        "ips": [],
        "locale": user.locale,
        "invite_request": user.sign_up_reason,
        "role": role_to_entity(user),
        "confirmed": user.confirmed_at is not None,
        "approved": user.approved,
        "disabled": user.disabled_at is not None,
        "silenced": account.silenced_at is not None,
        "suspended": account.suspended_at is not None,
        "sensitized": account.sensitized_at is not None,
        "account": account_to_entity(account, ctx),
        "created_by_application_id": None,
        "invited_by_account_id": None,
        "pending_appeals": _appeals_to_entities(appeals),
    }
