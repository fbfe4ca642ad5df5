"""Lists: a local account's named sets of accounts it follows, each with its own timeline (`list_feed`).

List feed rows are written by the fan-out (`storage.fanout`) in the same transaction as the home feed rows,
as Mastodon does: a status goes to every list holding its author whose owner would see it at home, unless
the list's `replies_policy` leaves the reply out. The members of an `exclusive` list are kept out of its
owner's home feed (`exclusive_pairs`). Members must be followed: unfollowing takes an account out of the
follower's lists (`storage.follows.remove_author_from_home_feed`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, exists, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.conversations import forget_deleted_statuses
from storage.models import Account, Follow, HomeFeedEntry, List, ListAccount, ListFeedEntry, Status

REPLIES_POLICIES = ("followed", "list", "none")


@dataclass(frozen=True)
class ListedStatus:
    """A new status as the list fan-out needs it."""

    status_id: int
    author_id: int
    visibility: str
    in_reply_to_account_id: int | None


async def owned_list(session: AsyncSession, owner_id: int, list_id: int) -> List | None:
    """The list `list_id` if `owner_id` owns it, else None (another's list is as good as missing)."""
    return (
        await session.execute(select(List).where(List.id == list_id, List.account_id == owner_id))
    ).scalar_one_or_none()


async def lists_of(session: AsyncSession, owner_id: int, *, member_id: int | None = None) -> list[List]:
    """An account's lists, oldest first; with `member_id`, only those holding that account."""
    statement = select(List).where(List.account_id == owner_id)
    if member_id is not None:
        statement = statement.where(
            exists().where(ListAccount.list_id == List.id, ListAccount.account_id == member_id)
        )
    return list((await session.execute(statement.order_by(List.id))).scalars())


async def unfollowed_among(session: AsyncSession, owner_id: int, account_ids: Sequence[int]) -> list[int]:
    """Those of `account_ids` that `owner_id` does not follow (Mastodon lists only followed accounts)."""
    followed = await _pairs_among(
        session, Follow.account_id, Follow.target_account_id, {owner_id}, set(account_ids)
    )
    return [account_id for account_id in account_ids if (owner_id, account_id) not in followed]


async def add_members(session: AsyncSession, list_id: int, account_ids: Sequence[int]) -> None:
    """Add accounts to a list (those already in it are left as they are)."""
    if account_ids:
        rows = [{"list_id": list_id, "account_id": account_id} for account_id in dict.fromkeys(account_ids)]
        connection = await session.connection()
        await connection.execute(
            _insert_ignore(connection.dialect.name, ListAccount, "list_id", "account_id"), rows
        )


async def remove_members(session: AsyncSession, list_id: int, account_ids: Sequence[int]) -> None:
    """Take accounts out of a list, and their statuses out of its timeline (as Mastodon unmerges them)."""
    await session.execute(
        delete(ListAccount).where(ListAccount.list_id == list_id, ListAccount.account_id.in_(account_ids))
    )
    await remove_authors_from_list_feeds(session, select(List.id).where(List.id == list_id), account_ids)


async def remove_authors_from_list_feeds(session: AsyncSession, list_ids: Any, author_ids: Any) -> None:
    """Delete the list feed rows of statuses by `author_ids` (ids or a subquery) in `list_ids` (a subquery),
    or in every list (`list_ids` None)."""
    authored = select(Status.id).where(Status.account_id.in_(author_ids))
    statement = delete(ListFeedEntry).where(ListFeedEntry.status_id.in_(authored))
    if list_ids is not None:
        statement = statement.where(ListFeedEntry.list_id.in_(list_ids))
    await session.execute(statement)


async def leave_lists_of(session: AsyncSession, owner_id: int, member_ids: Any) -> None:
    """Take `member_ids` (ids or a subquery) out of every list of `owner_id` (after an unfollow or a block),
    with their statuses."""
    owned = select(List.id).where(List.account_id == owner_id)
    await session.execute(
        delete(ListAccount).where(ListAccount.list_id.in_(owned), ListAccount.account_id.in_(member_ids))
    )
    await remove_authors_from_list_feeds(session, owned, member_ids)


async def remove_statuses_from_feeds(session: AsyncSession, status_ids: Sequence[int]) -> None:
    """A deleted status (or boost) leaves every home and list timeline, and the conversations it ended, at
    once."""
    await session.execute(delete(HomeFeedEntry).where(HomeFeedEntry.status_id.in_(status_ids)))
    await session.execute(delete(ListFeedEntry).where(ListFeedEntry.status_id.in_(status_ids)))
    await forget_deleted_statuses(session, status_ids)


async def exclusive_pairs(
    session: AsyncSession, reader_ids: set[int], author_ids: set[int]
) -> set[tuple[int, int]]:
    """(reader, author) pairs where the reader has the author in an exclusive list: the author's statuses
    then stay out of that reader's home feed (Mastodon's `exclusive`)."""
    if not reader_ids or not author_ids:
        return set()
    rows = await session.execute(
        select(List.account_id, ListAccount.account_id)
        .join(ListAccount, ListAccount.list_id == List.id)
        .where(
            List.exclusive.is_(True), List.account_id.in_(reader_ids), ListAccount.account_id.in_(author_ids)
        )
    )
    return {(reader, author) for reader, author in rows}


Exclusions = Callable[[AsyncSession, set[int], set[int]], Awaitable[set[tuple[int, int]]]]


async def add_to_list_feeds(
    session: AsyncSession, statuses: Sequence[ListedStatus], excluded_pairs: Exclusions
) -> list[tuple[int, int]]:
    """Write the list feed rows of new statuses (boosts included); returns them as (list id, status id).
    A status goes to the lists holding its author, except direct ones, lists whose local owner is
    suspended, or whom `excluded_pairs` (the fan-out's rule: blocks, mutes, domain blocks) keeps from the
    author, and replies the `replies_policy` leaves
    out: `none` all, `list` those to non-members, `followed` those to accounts the owner does not follow
    (a reply to oneself or to the owner always passes)."""
    shown = [status for status in statuses if status.visibility != "direct"]
    author_ids = {status.author_id for status in shown}
    if not author_ids:
        return []
    lists_by_author: dict[int, list[tuple[int, int, str]]] = {}
    rows = await session.execute(
        select(ListAccount.account_id, List.id, List.account_id, List.replies_policy)
        .join(List, List.id == ListAccount.list_id)
        .join(Account, Account.id == List.account_id)
        .where(ListAccount.account_id.in_(author_ids), Account.suspended_at.is_(None))
    )
    for author_id, list_id, owner_id, replies_policy in rows:
        lists_by_author.setdefault(author_id, []).append((list_id, owner_id, replies_policy))
    if not lists_by_author:
        return []
    owners = {owner for lists in lists_by_author.values() for _, owner, _ in lists}
    silenced = await excluded_pairs(session, owners, set(lists_by_author))
    replied_to = {s.in_reply_to_account_id for s in shown if s.in_reply_to_account_id is not None}
    list_ids = {list_id for lists in lists_by_author.values() for list_id, _, _ in lists}
    members = await _pairs_among(session, ListAccount.list_id, ListAccount.account_id, list_ids, replied_to)
    followed = await _pairs_among(session, Follow.account_id, Follow.target_account_id, owners, replied_to)
    feed_rows = []
    for status in shown:
        for list_id, owner_id, replies_policy in lists_by_author.get(status.author_id, ()):
            if (owner_id, status.author_id) in silenced:
                continue
            replied = status.in_reply_to_account_id
            if replied is not None and replied not in (status.author_id, owner_id):
                if replies_policy == "none":
                    continue
                if replies_policy == "list" and (list_id, replied) not in members:
                    continue
                if replies_policy == "followed" and (owner_id, replied) not in followed:
                    continue
            feed_rows.append({"list_id": list_id, "status_id": status.status_id})
    if feed_rows:
        connection = await session.connection()
        await connection.execute(
            _insert_ignore(connection.dialect.name, ListFeedEntry, "list_id", "status_id"), feed_rows
        )
    return [(row["list_id"], row["status_id"]) for row in feed_rows]


async def _pairs_among(
    session: AsyncSession, left: Any, right: Any, lefts: set[int], rights: set[int]
) -> set[tuple[int, int]]:
    """The (left, right) column values of a table's rows with `left` in `lefts` and `right` in `rights`."""
    if not lefts or not rights:
        return set()
    rows = await session.execute(select(left, right).where(left.in_(lefts), right.in_(rights)))
    return {(first, second) for first, second in rows}


def _insert_ignore(dialect_name: str, table: type, *keys: str) -> Any:
    insert = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing(index_elements=list(keys))
