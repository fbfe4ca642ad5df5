"""Accounts to suggest following, with why (Mastodon's suggestion sources):

- `featured`: accounts the instance's staff (admins and moderators) endorse on their profiles — an agency's
  own accounts, picked by its people;
- `friends_of_friends`: accounts followed by the accounts one follows, the most shared first;
- `most_followed`: the local accounts with the most followers.

Never suggested: oneself, accounts one follows or asked to follow, blocks and mutes either way, suspended,
silenced, gone, moved or undiscoverable accounts, and those dismissed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.ids import new_id
from storage.models import Account, AccountPin, Follow, FollowRequest, SuggestionDismissal, User
from storage.timelines import hidden_account


@dataclass
class Suggestion:
    account: Account
    sources: list[str] = field(default_factory=list)


def _suggestible(viewer_id: int) -> ColumnElement[bool]:
    return and_(
        Account.id != viewer_id,
        Account.suspended_at.is_(None),
        Account.silenced_at.is_(None),
        Account.gone_at.is_(None),
        Account.moved_to_account_id.is_(None),
        Account.discoverable.is_(True),
        Account.actor_type.in_(("Person", "Organization", "Service", "Group")),
        ~exists().where(Follow.account_id == viewer_id, Follow.target_account_id == Account.id),
        ~exists().where(FollowRequest.account_id == viewer_id, FollowRequest.target_account_id == Account.id),
        ~exists().where(
            SuggestionDismissal.account_id == viewer_id, SuggestionDismissal.target_account_id == Account.id
        ),
        ~hidden_account(viewer_id, Account.id),
    )


async def suggestions_for(session: AsyncSession, viewer_id: int, *, limit: int) -> list[Suggestion]:
    """Up to `limit` suggestions: featured first, then friends of friends, then the most followed."""
    chosen: dict[int, Suggestion] = {}

    def take(accounts: list[Account], source: str) -> None:
        for account in accounts:
            chosen.setdefault(account.id, Suggestion(account)).sources.append(source)

    staff = select(User.account_id).where(User.role.in_(("admin", "moderator")))
    featured = (
        select(Account)
        .join(AccountPin, AccountPin.target_account_id == Account.id)
        .where(AccountPin.account_id.in_(staff), _suggestible(viewer_id))
        .group_by(Account.id)
        .order_by(func.count().desc(), Account.id)
        .limit(limit)
    )
    take(list((await session.execute(featured)).scalars()), "featured")
    theirs = aliased(Follow)
    friends = (
        select(Account)
        .join(theirs, theirs.target_account_id == Account.id)
        .where(theirs.account_id.in_(select(Follow.target_account_id).where(Follow.account_id == viewer_id)))
        .where(_suggestible(viewer_id))
        .group_by(Account.id)
        .order_by(func.count().desc(), Account.id)
        .limit(limit)
    )
    take(list((await session.execute(friends)).scalars()), "friends_of_friends")
    popular = (
        select(Account)
        .where(Account.domain.is_(None), Account.followers_count > 0, _suggestible(viewer_id))
        .order_by(Account.followers_count.desc(), Account.id)
        .limit(limit)
    )
    take(list((await session.execute(popular)).scalars()), "most_followed")
    return list(chosen.values())[:limit]


async def dismiss_suggestion(session: AsyncSession, viewer_id: int, target_id: int) -> None:
    """Never suggest `target_id` to `viewer_id` again (twice is once)."""
    dialect = (await session.connection()).dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(SuggestionDismissal)
    await session.execute(
        insert.values(id=new_id(), account_id=viewer_id, target_account_id=target_id).on_conflict_do_nothing(
            index_elements=["account_id", "target_account_id"]
        )
    )
