"""A user's own domain blocks (not the moderators' `storage.domains`): that domain's accounts are hidden from
the user everywhere a block hides an account, its notifications go, and its accounts stop following the user.
Local only, as in Mastodon. Domains are canonical hosts (`apub.hosts.canonical_host`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.follows import remove_author_from_home_feed
from storage.models import Account, AccountDomainBlock, Follow, FollowRequest, Notification


def blocks_domain_of(viewer_id: Any, account_id: Any) -> Any:
    """SQL condition: `viewer_id` blocks the domain of the account `account_id` (a column or a value)."""
    author = aliased(Account)  # its own name: the statement around may join `accounts` already
    return exists().where(
        AccountDomainBlock.account_id == viewer_id,
        author.id == account_id,
        AccountDomainBlock.domain == author.domain,
    )


async def blocks_domain_of_account(session: AsyncSession, viewer_id: int, account_id: int) -> bool:
    """Whether `viewer_id` blocks the domain of `account_id`."""
    return bool(await session.scalar(select(blocks_domain_of(viewer_id, account_id))))


def _accounts_of(domain: str) -> Any:
    return select(Account.id).where(Account.domain == domain).scalar_subquery()


async def block_domain(
    session: AsyncSession, account_id: int, domain: str
) -> tuple[list[Account], list[Account]]:
    """Block `domain` for `account_id` (again: nothing more): its statuses leave the user's home feed and the
    notifications its accounts caused go. Returns that domain's followers and follow requesters of the user,
    whom the caller turns away (with a federated `Reject` each)."""
    already = await session.scalar(
        select(
            exists().where(AccountDomainBlock.account_id == account_id, AccountDomainBlock.domain == domain)
        )
    )
    if not already:
        session.add(AccountDomainBlock(account_id=account_id, domain=domain))
        await session.flush()
    await remove_author_from_home_feed(session, account_id, _accounts_of(domain), boosts_of_them=True)
    await session.execute(
        delete(Notification).where(
            Notification.account_id == account_id, Notification.from_account_id.in_(_accounts_of(domain))
        )
    )
    followers = await session.execute(
        select(Account)
        .join(Follow, Follow.account_id == Account.id)
        .where(Follow.target_account_id == account_id, Account.domain == domain)
    )
    requesters = await session.execute(
        select(Account)
        .join(FollowRequest, FollowRequest.account_id == Account.id)
        .where(FollowRequest.target_account_id == account_id, Account.domain == domain)
    )
    return list(followers.scalars()), list(requesters.scalars())


async def unblock_domain(session: AsyncSession, account_id: int, domain: str) -> None:
    """Lift the user's block of `domain`, if any."""
    await session.execute(
        delete(AccountDomainBlock).where(
            AccountDomainBlock.account_id == account_id, AccountDomainBlock.domain == domain
        )
    )
