"""The profile directory: the accounts that asked to be found (`discoverable`), local and known remote ones,
as Mastodon lists them at `/api/v1/directory`."""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import Select, and_, exists, or_, select

from storage.models import Account, User
from storage.timelines import hidden_account

DirectoryOrder = Literal["active", "new"]


def directory_query(viewer_id: int | None, *, local_only: bool, order: DirectoryOrder) -> Select[Any]:
    """Discoverable accounts in good standing (not suspended, silenced, moved or gone; local ones with an
    approved login, which leaves out the instance actor), without those the viewer blocks or mutes or that
    block the viewer; `active`: most recently posting first, `new`: newest accounts first."""
    local = and_(
        Account.domain.is_(None),
        exists().where(User.account_id == Account.id, User.approved.is_(True)),
    )
    statement = select(Account).where(
        Account.discoverable.is_(True),
        Account.suspended_at.is_(None),
        Account.silenced_at.is_(None),
        Account.moved_to_account_id.is_(None),
        Account.gone_at.is_(None),
        local if local_only else or_(Account.domain.is_not(None), local),
    )
    if viewer_id is not None:
        statement = statement.where(~hidden_account(viewer_id, Account.id))
    if order == "new":
        return statement.order_by(Account.id.desc())
    return statement.order_by(Account.last_status_at.desc().nulls_last(), Account.id.desc())
