"""What a working group's moderators see on the group's page (docs/GROUPS.md): the posts the group shared,
each with the forms to take it out and to ban its author, the accounts the group has banned, each with
the form to lift the ban, and for a private group who waits to join, each with the forms to let them in or
turn them away. Nobody else sees it; the forms post to `web/group_moderation`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.context import Context
from storage.groups import is_group, is_moderator, join_requests_of, moderators_of
from storage.models import Account, Block, Status
from web.posts import Post, load_posts

SHARED_POSTS = 20


@dataclass(frozen=True)
class GroupPanel:
    shared: list[Post]
    banned: list[Account]
    moderator_ids: frozenset[int]
    private: bool
    waiting: list[Account]


async def group_panel(
    ctx: Context, session: AsyncSession, group: Account, viewer_id: int | None, wanted: Sequence[str] = ()
) -> GroupPanel | None:
    """The moderation block of a local group's page for one of its moderators; None for anyone else."""
    if viewer_id is None or not is_group(group) or group.domain is not None:
        return None
    if not await is_moderator(session, group.id, viewer_id):
        return None
    boosts = (
        await session.execute(
            select(Status)
            .where(
                Status.account_id == group.id,
                Status.reblog_of_id.is_not(None),
                Status.deleted_at.is_(None),
            )
            .order_by(Status.id.desc())
            .limit(SHARED_POSTS)
        )
    ).scalars()
    banned = (
        await session.execute(
            select(Account)
            .join(Block, Block.target_account_id == Account.id)
            .where(Block.account_id == group.id)
            .order_by(Block.id)
        )
    ).scalars()
    moderators = await moderators_of(session, group.id)
    return GroupPanel(
        shared=await load_posts(ctx, session, list(boosts), wanted),
        banned=list(banned),
        moderator_ids=frozenset(moderator.id for moderator in moderators),
        private=group.locked,
        waiting=await join_requests_of(session, group.id),
    )
