"""Queries on appeals (`models.Appeal`): the one rule of whether a warning may still be appealed, an appeal's
state as Mastodon names it, and the appeals of a page of warnings. Written by `moderation.appeals`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Account, AccountWarning, Appeal, User

AppealState = Literal["pending", "approved", "rejected"]
MAX_APPEAL_TEXT = 2000  # characters, as Mastodon's Appeal
APPEAL_WINDOW = timedelta(days=20)  # Mastodon's MAX_STRIKE_AGE: a warning may be appealed this long


def appeal_state(appeal: Appeal) -> AppealState:
    """Mastodon's name of where an appeal stands."""
    if appeal.approved_at is not None:
        return "approved"
    if appeal.rejected_at is not None:
        return "rejected"
    return "pending"


def appeal_deadline(warning: AccountWarning) -> datetime:
    """The last moment the warning may be appealed."""
    return warning.created_at + APPEAL_WINDOW


def why_not_appealable(warning: AccountWarning, appeal: Appeal | None, now: datetime) -> str | None:
    """Why the warning's account may not appeal it now — `appealed` (once only), `overruled` (nothing left to
    appeal), `too_late` (past APPEAL_WINDOW) — or None when it may. The one decision of the page and the
    action."""
    if appeal is not None:
        return "appealed"
    if warning.overruled_at is not None:
        return "overruled"
    if now > appeal_deadline(warning):
        return "too_late"
    return None


async def appeals_of_warnings(session: AsyncSession, warning_ids: Iterable[int]) -> dict[int, Appeal]:
    """The appeals of these warnings, by warning id (one query; none asked, none run)."""
    wanted = list(warning_ids)
    if not wanted:
        return {}
    rows = await session.execute(select(Appeal).where(Appeal.account_warning_id.in_(wanted)))
    return {appeal.account_warning_id: appeal for appeal in rows.scalars()}


def pending_appeals() -> Select[tuple[Appeal, AccountWarning]]:
    """Appeals waiting for a decision with their warning, oldest first (the moderators' queue)."""
    return (
        select(Appeal, AccountWarning)
        .join(AccountWarning, AccountWarning.id == Appeal.account_warning_id)
        .where(Appeal.approved_at.is_(None), Appeal.rejected_at.is_(None))
        .order_by(Appeal.id.asc())
    )


async def appeals_of_account(session: AsyncSession, account_id: int) -> list[tuple[Appeal, AccountWarning]]:
    """Every appeal the account made, newest first, with its warning."""
    rows = await session.execute(
        select(Appeal, AccountWarning)
        .join(AccountWarning, AccountWarning.id == Appeal.account_warning_id)
        .where(Appeal.account_id == account_id)
        .order_by(Appeal.id.desc())
    )
    return [(appeal, warning) for appeal, warning in rows.all()]


async def pending_appeals_of(
    session: AsyncSession, account_ids: Iterable[int]
) -> dict[int, list[tuple[Appeal, AccountWarning]]]:
    """The appeals waiting for a decision of these accounts, by account id, oldest first (one query)."""
    wanted = list(account_ids)
    if not wanted:
        return {}
    rows = await session.execute(pending_appeals().where(Appeal.account_id.in_(wanted)))
    found: dict[int, list[tuple[Appeal, AccountWarning]]] = {}
    for appeal, warning in rows.all():
        found.setdefault(appeal.account_id, []).append((appeal, warning))
    return found


async def staff_told_of_appeals(session: AsyncSession) -> list[int]:
    """The users told of a new appeal by mail, as Mastodon's AppealService tells those who may manage
    appeals: the moderators and admins with a confirmed address, their login neither disabled nor suspended
    (Mastodon's per-user opt-out of these mails, on by default, Plein does not have)."""
    found = await session.scalars(
        select(User.id)
        .join(Account, Account.id == User.account_id)
        .where(
            User.role.in_(("moderator", "admin")),
            User.email.is_not(None),
            User.confirmed_at.is_not(None),
            User.disabled_at.is_(None),
            Account.suspended_at.is_(None),
        )
        .order_by(User.id)
    )
    return list(found)
