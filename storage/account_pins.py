"""Endorsements (Mastodon's "featured accounts", `account_pins`): local only. An account may feature only
accounts it follows, and an endorsement counts only while that follow lasts: every read joins the follow,
so a follow ended by any path (unfollow, block, a remote Reject, moderation) ends the endorsement with it."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.follows import follow_of
from storage.models import Account, AccountPin, Follow
from storage.timelines import ListQuery, written_out

_FOLLOW_LASTS = and_(
    Follow.account_id == AccountPin.account_id, Follow.target_account_id == AccountPin.target_account_id
)


async def endorse(session: AsyncSession, account_id: int, target_id: int) -> bool:
    """Feature `target_id` on `account_id`'s profile (again: nothing changes); False when `account_id`
    does not follow it, the one thing that may be endorsed."""
    if await follow_of(session, account_id, target_id) is None:
        return False
    existing = await session.scalar(
        select(AccountPin.id).where(
            AccountPin.account_id == account_id, AccountPin.target_account_id == target_id
        )
    )
    if existing is None:
        session.add(AccountPin(account_id=account_id, target_account_id=target_id))
        await session.flush()
    return True


async def unendorse(session: AsyncSession, account_id: int, target_id: int) -> None:
    """Stop featuring `target_id` (nothing happens when it was not featured)."""
    await session.execute(
        delete(AccountPin).where(
            AccountPin.account_id == account_id, AccountPin.target_account_id == target_id
        )
    )


async def endorsed_ids(session: AsyncSession, account_id: int, target_ids: Iterable[int]) -> set[int]:
    """Which of `target_ids` `account_id` features now."""
    targets = list(target_ids)
    if not targets:
        return set()
    statement = (
        select(AccountPin.target_account_id)
        .join(Follow, _FOLLOW_LASTS)
        .where(AccountPin.account_id == account_id, AccountPin.target_account_id.in_(targets))
    )
    return set((await session.execute(statement)).scalars())


def endorsements_query(account_id: int) -> ListQuery:
    """(pin id, Account) of the accounts `account_id` features, suspended ones left out; pages go by pin
    id."""
    statement = (
        select(AccountPin.id, Account)
        .join(Follow, _FOLLOW_LASTS)
        .join(Account, Account.id == AccountPin.target_account_id)
        .where(AccountPin.account_id == written_out(account_id), Account.suspended_at.is_(None))
    )
    return ListQuery(statement, AccountPin.id)
