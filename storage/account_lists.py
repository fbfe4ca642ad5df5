"""Lists about one account, each a statement paged by one id column: its statuses (as a viewer may see
them), followers, follows and pending follow requests."""

from __future__ import annotations

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Account,
    AccountDomainBlock,
    Block,
    Follow,
    FollowRequest,
    MediaAttachment,
    Mute,
    Status,
    StatusPin,
    User,
)
from storage.mutes import in_force as mute_in_force
from storage.timelines import ListQuery, visible_to, written_out


def account_statuses_query(
    account_id: int,
    viewer_id: int | None,
    *,
    exclude_replies: bool = False,
    exclude_reblogs: bool = False,
    only_media: bool = False,
    pinned: bool = False,
) -> ListQuery:
    """The statuses (and boosts) of `account_id` that `viewer_id` may read, newest first.

    `exclude_replies` keeps self-replies (threads), as Mastodon does; `pinned` pages by pin."""
    statement = select(Status.id, Status).where(
        Status.account_id == account_id, Status.deleted_at.is_(None), visible_to(viewer_id)
    )
    page_column = Status.id
    if exclude_replies:
        statement = statement.where(
            or_(
                and_(Status.in_reply_to_id.is_(None), Status.in_reply_to_uri.is_(None)),
                Status.in_reply_to_account_id == account_id,
            )
        )
    if exclude_reblogs:
        statement = statement.where(Status.reblog_of_id.is_(None))
    if only_media:
        statement = statement.where(exists().where(MediaAttachment.status_id == Status.id))
    if pinned:
        statement = (
            select(StatusPin.id, Status)
            .join(Status, Status.id == StatusPin.status_id)
            .where(StatusPin.account_id == account_id, Status.deleted_at.is_(None), visible_to(viewer_id))
        )
        page_column = StatusPin.id
    return ListQuery(statement, page_column)


def followers_query(account_id: int) -> ListQuery:
    """(follow id, Account) of the accounts following `account_id`; pages go by follow id."""
    statement = (
        select(Follow.id, Account)
        .join(Account, Account.id == Follow.account_id)
        .where(Follow.target_account_id == written_out(account_id), Account.suspended_at.is_(None))
    )
    return ListQuery(statement, Follow.id)


def following_query(account_id: int) -> ListQuery:
    """(follow id, Account) of the accounts `account_id` follows; pages go by follow id."""
    statement = (
        select(Follow.id, Account)
        .join(Account, Account.id == Follow.target_account_id)
        .where(Follow.account_id == written_out(account_id), Account.suspended_at.is_(None))
    )
    return ListQuery(statement, Follow.id)


def follow_requests_query(account_id: int) -> ListQuery:
    """(request id, Account) of the accounts asking to follow `account_id`; pages go by request id."""
    statement = (
        select(FollowRequest.id, Account)
        .join(Account, Account.id == FollowRequest.account_id)
        .where(FollowRequest.target_account_id == account_id, Account.suspended_at.is_(None))
    )
    return ListQuery(statement, FollowRequest.id)


def blocks_query(account_id: int) -> ListQuery:
    """(block id, Account) of the accounts `account_id` blocks; pages go by block id."""
    statement = select(Block.id, Account).join(Account, Account.id == Block.target_account_id)
    return ListQuery(statement.where(Block.account_id == account_id), Block.id)


def mutes_query(account_id: int) -> ListQuery:
    """(mute id, Account, mute end) of the accounts `account_id` mutes (expired mutes left out); pages go by
    mute id."""
    statement = select(Mute.id, Account, Mute.expires_at).join(Account, Account.id == Mute.target_account_id)
    return ListQuery(statement.where(Mute.account_id == account_id, mute_in_force()), Mute.id)


def domain_blocks_query(account_id: int) -> ListQuery:
    """(block id, domain) of the domains `account_id` blocks for itself; pages go by block id."""
    statement = select(AccountDomainBlock.id, AccountDomainBlock.domain)
    return ListQuery(statement.where(AccountDomainBlock.account_id == account_id), AccountDomainBlock.id)


async def accounts_by_ids(session: AsyncSession, account_ids: list[int]) -> list[Account]:
    """The stored accounts among `account_ids`, in the order asked (unknown ids left out)."""
    rows = await session.execute(select(Account).where(Account.id.in_(account_ids)))
    found = {account.id: account for account in rows.scalars()}
    return [found[account_id] for account_id in dict.fromkeys(account_ids) if account_id in found]


async def familiar_followers(
    session: AsyncSession, viewer_id: int, target_ids: list[int]
) -> dict[int, list[Account]]:
    """For each of `target_ids`, the accounts `viewer_id` follows that follow it (suspended ones left out),
    in the order of those follows."""
    viewer_follows = select(Follow.target_account_id).where(Follow.account_id == viewer_id)
    statement = (
        select(Follow.target_account_id, Account)
        .join(Account, Account.id == Follow.account_id)
        .where(
            Follow.target_account_id.in_(target_ids),
            Follow.account_id.in_(viewer_follows),
            Account.suspended_at.is_(None),
        )
        .order_by(Follow.id)
    )
    familiar: dict[int, list[Account]] = {target: [] for target in target_ids}
    for target, account in await session.execute(statement):
        familiar[target].append(account)
    return familiar


async def count_follow_requests(session: AsyncSession, account_id: int) -> int:
    """How many follow requests wait for `account_id`."""
    statement = select(func.count()).where(FollowRequest.target_account_id == account_id)
    return int((await session.execute(statement)).scalar_one())


async def set_posting_defaults(
    session: AsyncSession,
    user: User,
    *,
    visibility: str | None = None,
    sensitive: bool | None = None,
    language: str | None = None,
) -> None:
    """Change a user's defaults for new posts (None leaves a value as it is; "" clears the language)."""
    if visibility is not None:
        user.default_visibility = visibility
    if sensitive is not None:
        user.default_sensitive = sensitive
    if language is not None:
        user.default_language = language or None
    session.add(user)
    await session.flush()
