"""Working groups: local `Group` actors (FEP-1b12), their moderators, who may post to them, and the
`groups` queue's jobs that make a group announce a post addressed to it.

A group is a local account whose actor type is `Group`. Its followers are its members; its moderators are
`group_moderators` rows (local accounts); an account a moderator bans is blocked by the group (an ordinary
`Block` row), so it can neither post to the group nor follow it again. docs/GROUPS.md tells the whole story.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.accounts import create_local_account
from storage.models import Account, Block, Follow, FollowRequest, GroupModerator
from storage.passwords import generate_password, hash_password, make_hasher
from storage.queue import enqueue_many, job_row
from storage.urls import LocalUrls

GROUP_ACTOR = "Group"
GROUPS_QUEUE = "groups"


class GroupError(Exception):
    """A group action that cannot be done (not a group, not a moderator, …)."""


def is_group(account: Account) -> bool:
    """Whether `account` is a group actor (local or remote)."""
    return account.actor_type == GROUP_ACTOR


async def create_group(
    session: AsyncSession, urls: LocalUrls, username: str, *, display_name: str = "", private: bool = False
) -> Account:
    """A new local group, in the caller's transaction. It has a login row like every local account, with a
    password nobody knows: a group is run by its moderators, never signed in to. A private group is a locked
    account (`manuallyApprovesFollowers`): a join is a follow request its moderators answer."""
    account = await create_local_account(
        session, urls, username=username, password_hash=hash_password(make_hasher(), generate_password())
    )
    account.actor_type = GROUP_ACTOR
    account.display_name = display_name or username
    account.locked = private
    await session.flush()
    return account


async def moderators_of(session: AsyncSession, group_id: int) -> list[Account]:
    """The group's moderators, in the order they were made moderators."""
    statement = (
        select(Account)
        .join(GroupModerator, GroupModerator.account_id == Account.id)
        .where(GroupModerator.group_id == group_id)
        .order_by(GroupModerator.id)
    )
    return list((await session.execute(statement)).scalars())


async def is_moderator(session: AsyncSession, group_id: int, account_id: int) -> bool:
    """Whether `account_id` moderates the group."""
    return bool(
        await session.scalar(
            select(
                exists().where(GroupModerator.group_id == group_id, GroupModerator.account_id == account_id)
            )
        )
    )


async def add_moderator(session: AsyncSession, group: Account, account: Account) -> bool:
    """Make a local account a moderator of a local group; False if it was one already."""
    if not is_group(group) or group.domain is not None:
        raise GroupError(f"@{group.username} is not a local group")
    if account.domain is not None or is_group(account):
        raise GroupError("only local people's accounts can moderate a group")
    if await is_moderator(session, group.id, account.id):
        return False
    session.add(GroupModerator(group_id=group.id, account_id=account.id))
    await session.flush()
    return True


async def remove_moderator(session: AsyncSession, group: Account, account: Account) -> bool:
    """No longer a moderator; False if it was none."""
    result = await session.execute(
        delete(GroupModerator).where(
            GroupModerator.group_id == group.id, GroupModerator.account_id == account.id
        )
    )
    return bool(result.rowcount)


async def may_post_to(session: AsyncSession, group_id: int, account_id: int) -> bool:
    """The one decision whether a post by `account_id` is announced by the group: only its members (its
    followers) may post, and never an account the group blocked."""
    member = exists().where(Follow.account_id == account_id, Follow.target_account_id == group_id)
    banned = exists().where(Block.account_id == group_id, Block.target_account_id == account_id)
    return bool(await session.scalar(select(member & ~banned)))


async def join_requests_of(session: AsyncSession, group_id: int) -> list[Account]:
    """The accounts waiting to join a private group, oldest request first."""
    statement = (
        select(Account)
        .join(FollowRequest, FollowRequest.account_id == Account.id)
        .where(FollowRequest.target_account_id == group_id)
        .order_by(FollowRequest.id)
    )
    return list((await session.execute(statement)).scalars())


async def local_groups_among(session: AsyncSession, uris: Iterable[str]) -> list[Account]:
    """The local groups whose actor ids are among `uris` (the addresses and mentions of a post)."""
    wanted = set(uris)
    if not wanted:
        return []
    statement = select(Account).where(
        Account.uri.in_(wanted),
        Account.domain.is_(None),
        Account.actor_type == GROUP_ACTOR,
        Account.suspended_at.is_(None),
    )
    return list((await session.execute(statement)).scalars())


async def queue_announces(session: AsyncSession, groups: Iterable[Account], status_uri: str) -> int:
    """One `groups` job per group, in the caller's transaction, to announce the status (at most once per
    group and status: a redelivered post finds its job there already). Returns how many were queued."""
    return await enqueue_many(
        session,
        [
            job_row(
                GROUPS_QUEUE,
                {"kind": "announce", "group_id": group.id, "status_uri": status_uri},
                dedupe_key=f"announce:{group.id}:{status_uri}",
            )
            for group in groups
        ],
    )
