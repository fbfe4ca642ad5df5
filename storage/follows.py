"""Queries and writes on the follow graph (follows, follow requests, blocks)."""

from __future__ import annotations

from sqlalchemy import ScalarSelect, and_, delete, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from apub.hosts import delivery_inbox
from storage.lists import leave_lists_of, remove_authors_from_list_feeds
from storage.models import Account, Block, Follow, FollowRequest, HomeFeedEntry, Status


async def follow_of(session: AsyncSession, account_id: int, target_id: int) -> Follow | None:
    """The accepted follow of `target_id` by `account_id`, or None."""
    statement = select(Follow).where(Follow.account_id == account_id, Follow.target_account_id == target_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def follow_request_of(session: AsyncSession, account_id: int, target_id: int) -> FollowRequest | None:
    """The pending follow request of `target_id` by `account_id`, or None."""
    statement = select(FollowRequest).where(
        FollowRequest.account_id == account_id, FollowRequest.target_account_id == target_id
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def block_of(session: AsyncSession, account_id: int, target_id: int) -> Block | None:
    """The block of `target_id` by `account_id`, or None."""
    statement = select(Block).where(Block.account_id == account_id, Block.target_account_id == target_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def blocked_either_way(session: AsyncSession, first_id: int, second_id: int) -> bool:
    """True when either account blocks the other."""
    return bool(
        await session.scalar(
            select(
                exists().where(
                    or_(
                        and_(Block.account_id == first_id, Block.target_account_id == second_id),
                        and_(Block.account_id == second_id, Block.target_account_id == first_id),
                    )
                )
            )
        )
    )


async def recount_follows(session: AsyncSession, *account_ids: int) -> None:
    """Recompute followers_count and following_count of the accounts (exact, cheap on indexed columns)."""
    for account_id in account_ids:
        account = await session.get(Account, account_id)
        if account is None:
            continue
        account.followers_count = int(
            await session.scalar(select(func.count()).where(Follow.target_account_id == account_id)) or 0
        )
        account.following_count = int(
            await session.scalar(select(func.count()).where(Follow.account_id == account_id)) or 0
        )


async def remote_follower_inbox_page(
    session: AsyncSession, account_id: int, *, after: int, limit: int
) -> tuple[list[str], int | None]:
    """One page of the inboxes of the remote followers of a local account, in follow id order after the
    follow id `after`: the shared inbox when the remote has one on its own origin, else the personal inbox
    there (`apub.hosts.delivery_inbox`), else none; distinct within the page (a shared inbox may recur on
    the next). Gone and suspended accounts are left out. Returns the inboxes and the last follow id read,
    None when the page is empty (the followers are all read)."""
    statement = (
        select(Follow.id, Account.uri, Account.inbox_url, Account.shared_inbox_url)
        .join(Follow, Follow.account_id == Account.id)
        .where(
            Follow.target_account_id == account_id,
            Follow.id > after,
            Account.domain.is_not(None),
            Account.gone_at.is_(None),
            Account.suspended_at.is_(None),
        )
        .order_by(Follow.id)
        .limit(limit)
    )
    rows = (await session.execute(statement)).all()
    if not rows:
        return [], None
    inboxes = (delivery_inbox(uri, inbox, shared_inbox) for _, uri, inbox, shared_inbox in rows)
    return list(dict.fromkeys(inbox for inbox in inboxes if inbox)), int(rows[-1][0])


async def drop_follows_between(session: AsyncSession, first_id: int, second_id: int) -> None:
    """Remove follows and follow requests in both directions between two accounts."""
    for model in (Follow, FollowRequest):
        await session.execute(
            delete(model).where(
                or_(
                    and_(model.account_id == first_id, model.target_account_id == second_id),
                    and_(model.account_id == second_id, model.target_account_id == first_id),
                )
            )
        )


async def remove_author_from_home_feed(
    session: AsyncSession,
    reader_id: int | None,
    author_id: int | ScalarSelect[int],
    *,
    boosts_of_them: bool = False,
    keep_lists: bool = False,
) -> None:
    """Take an author's statuses out of one reader's home timeline (after an unfollow or a block), or out of
    every home timeline (`reader_id` None: the author is suspended). `author_id` may be a subquery of
    several authors' ids (the accounts of a suspended domain). With `boosts_of_them`, others' boosts of the
    author's statuses go too (a mute or a block hides those, an unfollow does not). The author also leaves
    the reader's lists, as in Mastodon (a list holds only followed accounts), unless `keep_lists` (a mute);
    a suspended author leaves every list's timeline."""
    by_author = (
        Status.account_id == author_id if isinstance(author_id, int) else Status.account_id.in_(author_id)
    )
    authored = select(Status.id).where(by_author).scalar_subquery()
    gone = HomeFeedEntry.status_id.in_(authored)
    if boosts_of_them:
        gone = or_(
            gone, HomeFeedEntry.status_id.in_(select(Status.id).where(Status.reblog_of_id.in_(authored)))
        )
    statement = delete(HomeFeedEntry).where(gone)
    if reader_id is not None:
        statement = statement.where(HomeFeedEntry.account_id == reader_id)
    await session.execute(statement)
    authors = [author_id] if isinstance(author_id, int) else author_id
    if reader_id is None:
        await remove_authors_from_list_feeds(session, None, authors)
    elif not keep_lists:
        await leave_lists_of(session, reader_id, authors)
