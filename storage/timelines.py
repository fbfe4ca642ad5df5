"""Timeline and status-list queries: each is one indexed range scan over an id column.

The functions named `*_query` build the statement and name the id column pages go by; the client API adds the
page window (`max_id`, `since_id`, `min_id`, `limit`) to it. Home timelines read the `home_feed` fan-out rows
written at delivery time; nothing here computes a feed from follows on read.

The home timeline takes its page of ids from `home_feed` first, with its own `LIMIT`, and only then joins the
statuses (`ListQuery.rows_of_page`): joined in one flat statement, PostgreSQL may merge-join the feed with
`pk_statuses` walked backwards from the newest status, through every status newer than `max_id`
(~500,000 rows in `bench/timeline.py`), because only the feed side carries the bound. A feed row leaves when
its status is deleted or its author suspended (the newest 400 come back when the suspension is lifted), so
pages taken this way are full.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    BindParameter,
    ColumnElement,
    Select,
    Subquery,
    and_,
    bindparam,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.account_domain_blocks import blocks_domain_of
from storage.models import (
    Account,
    AccountConversation,
    Block,
    Bookmark,
    Favourite,
    Follow,
    HomeFeedEntry,
    ListAccount,
    ListFeedEntry,
    MediaAttachment,
    Mention,
    Mute,
    Status,
    StatusTag,
    Tag,
)
from storage.mutes import in_force as mute_in_force

MAX_CONTEXT_DEPTH = 200  # a reply chain deeper than this is cut (it is usually a loop or an attack)


# Timelines select plain rows rather than ORM objects: a page is read-only and rendered at once, and plain
# rows cost far less to build. A row holds the status columns a rendered Status reads (named like the model's
# attributes), `page_id`, and the author's columns a rendered Account reads, prefixed with `author_` (joined
# in, saving the renderer a round trip). Columns nothing renders (keys, collection URLs, sources, polls we
# do not serve) stay in the database.
LISTED_STATUS_COLUMNS = tuple(
    Status.__table__.c[name]
    for name in (
        "id",
        "uri",
        "url",
        "account_id",
        "in_reply_to_id",
        "in_reply_to_account_id",
        "reblog_of_id",
        "content",
        "spoiler_text",
        "sensitive",
        "visibility",
        "language",
        "application_id",
        "replies_count",
        "reblogs_count",
        "favourites_count",
        "created_at",
        "edited_at",
        "quote_policy",
    )
)
LISTED_ACCOUNT_COLUMNS = tuple(
    Account.__table__.c[name]
    for name in (
        "id",
        "username",
        "domain",
        "uri",
        "url",
        "actor_type",
        "display_name",
        "note",
        "fields",
        "emojis",
        "avatar_url",
        "header_url",
        "avatar_file",
        "header_file",
        "locked",
        "discoverable",
        "indexable",
        "bot",
        "moved_to_account_id",
        "followers_count",
        "following_count",
        "statuses_count",
        "last_status_at",
        "created_at",
        "suspended_at",
        "silenced_at",
        "government_id",  # the verified-agency mark, shown as a field (storage.agency)
        "government_website",
        "government_verified_at",
        "government_website_verified_at",
    )
)
AUTHOR_PREFIX = "author_"
AUTHOR_COLUMNS = tuple(column.label(f"{AUTHOR_PREFIX}{column.name}") for column in LISTED_ACCOUNT_COLUMNS)


@dataclass(frozen=True)
class ListQuery:
    """A statement selecting status rows with their paging id (`page_id`), and the column pages go by.

    With `rows_of_page`, `statement` selects only the paging ids (as `page_id`), the page window goes on it,
    and `rows_of_page` joins the rows to that limited subquery of ids. `joined_columns` are columns of
    other tables the statement joins equal to `page_column`: the window's bounds go on them too, since
    PostgreSQL does not carry a bound across a join, and a merge join would walk the unbounded side from
    its end."""

    statement: Select[Any]
    page_column: Any
    rows_of_page: Callable[[Subquery], Select[Any]] | None = None
    joined_columns: tuple[Any, ...] = ()


def written_out(value: int | BindParameter[Any]) -> BindParameter[Any]:
    """`value` (a number, or a parameter bound per run) written into the SQL text instead of sent apart.

    For a page's LIMIT and its owner's id: asyncpg prepares every statement, and after five runs PostgreSQL
    may keep one generic plan for all values, planned for a LIMIT it cannot see (a tenth of the rows) and an
    average owner — a hash join over every status, or a sort of all of one owner's rows. Written out, each
    statement is planned for its own values; there are only a few dozen page sizes, and one statement per
    owner is what an owner's repeated reads reuse."""
    if isinstance(value, BindParameter):
        return bindparam(value.key, type_=BigInteger, literal_execute=True)
    return bindparam(None, value, type_=BigInteger, literal_execute=True)


def _rows_of(page_column: Any) -> Select[Any]:
    return select(page_column.label("page_id"), *LISTED_STATUS_COLUMNS, *AUTHOR_COLUMNS)


def _with_author(statement: Select[Any]) -> Select[Any]:
    """Join the author (whose columns `_rows_of` selects), leaving out deleted statuses and suspended
    authors."""
    return statement.join(Account, Account.id == Status.account_id).where(
        Status.deleted_at.is_(None), Account.suspended_at.is_(None)
    )


def _readable(statement: Select[Any]) -> Select[Any]:
    """Leave out deleted statuses and those of suspended authors."""
    return statement.where(Status.deleted_at.is_(None)).where(
        ~exists().where(Account.id == Status.account_id, Account.suspended_at.is_not(None))
    )


def home_query(account_id: int | ColumnElement[int]) -> ListQuery:
    """A local account's home timeline, from its fan-out rows (the primary key serves the range scan): the
    page of feed ids first, then its statuses (see the module docstring).

    `account_id` (here and in the other per-account lists) may be a bound parameter, for a statement built
    once and run for every caller."""
    feed_ids = select(HomeFeedEntry.status_id.label("page_id")).where(HomeFeedEntry.account_id == account_id)
    return ListQuery(feed_ids, HomeFeedEntry.status_id, home_rows)


def home_rows(page: Subquery) -> Select[Any]:
    # Deleted statuses and suspended authors have left the feed already; the conditions only cover a row
    # read in the moment between the two.
    return _with_author(_rows_of(page.c.page_id).select_from(page).join(Status, Status.id == page.c.page_id))


def list_members_query(list_id: int) -> ListQuery:
    """(membership id, Account) of a list's members, not suspended; pages go by the membership id."""
    statement = (
        select(ListAccount.id, Account)
        .join(Account, Account.id == ListAccount.account_id)
        .where(ListAccount.list_id == list_id, Account.suspended_at.is_(None))
    )
    return ListQuery(statement, ListAccount.id)


def list_timeline_query(list_id: int) -> ListQuery:
    """A list's timeline from its fan-out rows: the page of feed ids first, then its statuses, as home."""
    feed_ids = select(ListFeedEntry.status_id.label("page_id")).where(
        ListFeedEntry.list_id == written_out(list_id)
    )
    return ListQuery(feed_ids, ListFeedEntry.status_id, home_rows)


def conversations_query(account_id: int) -> ListQuery:
    """An account's conversations whose last status stands; pages go by the last status's id, newest first
    (as Mastodon pages them)."""
    statement = (
        select(AccountConversation)
        .join(Status, Status.id == AccountConversation.last_status_id)
        .where(AccountConversation.account_id == account_id, Status.deleted_at.is_(None))
    )
    return ListQuery(statement, AccountConversation.last_status_id)


def _public_filter(statement: Select[Any], *, local: bool, remote: bool, only_media: bool) -> Select[Any]:
    """Public originals (no boosts) of accounts neither suspended nor silenced, by locality and media;
    `statement` selects from statuses."""
    statement = statement.where(Status.visibility == "public", Status.reblog_of_id.is_(None))
    if local:
        statement = statement.where(Status.local.is_(True))
    elif remote:
        statement = statement.where(Status.local.is_(False))
    if only_media:
        statement = statement.where(exists().where(MediaAttachment.status_id == Status.id))
    # Silenced accounts (a silenced domain's) stay out of the public timelines; their followers still see them.
    return _with_author(statement).where(Account.silenced_at.is_(None))


def public_query(
    *, local: bool = False, remote: bool = False, only_media: bool = False, viewer_id: int | None = None
) -> ListQuery:
    """Public, original (not boosted) statuses known here; a `viewer_id` does not see the authors it mutes or
    blocks, or that block it (`hidden_author`)."""
    statement = _public_filter(
        _rows_of(Status.id).select_from(Status), local=local, remote=remote, only_media=only_media
    )
    return ListQuery(_for_viewer(statement, viewer_id), Status.id)


def tag_query(
    tag_name: str,
    *,
    local: bool = False,
    remote: bool = False,
    only_media: bool = False,
    viewer_id: int | None = None,
) -> ListQuery:
    """Public statuses carrying the hashtag `tag_name` (case-insensitive, with or without '#'), without the
    authors `viewer_id` mutes or blocks, or that block it."""
    statement = (
        _rows_of(Status.id)
        .select_from(Status)
        .join(StatusTag, StatusTag.status_id == Status.id)
        .join(Tag, Tag.id == StatusTag.tag_id)
        .where(Tag.name == tag_name.lstrip("#").lower())
    )
    statement = _public_filter(statement, local=local, remote=remote, only_media=only_media)
    return ListQuery(_for_viewer(statement, viewer_id), Status.id, joined_columns=(StatusTag.status_id,))


@dataclass(frozen=True)
class PublicFacts:
    """How a status figures in the public and hashtag timelines: local or received, with media, its tags."""

    local: bool
    media: bool
    tags: frozenset[str]


async def public_status_facts(session: AsyncSession, status_id: int) -> PublicFacts | None:
    """The facts the public and hashtag streams choose by, or None when the status belongs in no public
    timeline — the rule of `public_query` and `tag_query`, applied to one status."""
    has_media = exists().where(MediaAttachment.status_id == Status.id)
    statement = _public_filter(
        select(Status.local, has_media).select_from(Status), local=False, remote=False, only_media=False
    )
    row = (await session.execute(statement.where(Status.id == status_id))).one_or_none()
    if row is None:
        return None
    tags = await session.scalars(
        select(Tag.name).join(StatusTag, StatusTag.tag_id == Tag.id).where(StatusTag.status_id == status_id)
    )
    return PublicFacts(local=bool(row[0]), media=bool(row[1]), tags=frozenset(tags))


async def viewers_hiding(session: AsyncSession, status_id: int, viewer_ids: set[int]) -> set[int]:
    """Which of `viewer_ids` do not see the author of `status_id` (`hidden_author`): one query for all the
    subscribers of a public stream."""
    if not viewer_ids:
        return set()
    viewer = aliased(Account)
    statement = (
        select(viewer.id)
        .select_from(viewer)
        .join(Status, Status.id == status_id)
        .where(viewer.id.in_(viewer_ids), hidden_author(viewer.id))
    )
    return set((await session.scalars(statement)).all())


def bookmarks_query(account_id: int | ColumnElement[int]) -> ListQuery:
    """An account's bookmarked statuses; pages go by bookmark id (newest bookmark first)."""
    statement = _with_author(
        _rows_of(Bookmark.id)
        .select_from(Bookmark)
        .join(Status, Status.id == Bookmark.status_id)
        .where(Bookmark.account_id == account_id)
    )
    return ListQuery(statement, Bookmark.id)


def favourites_query(account_id: int | ColumnElement[int]) -> ListQuery:
    """Statuses an account favourited; pages go by favourite id (newest favourite first)."""
    statement = _with_author(
        _rows_of(Favourite.id)
        .select_from(Favourite)
        .join(Status, Status.id == Favourite.status_id)
        .where(Favourite.account_id == account_id)
    )
    return ListQuery(statement, Favourite.id)


def favourited_by_query(status_id: int) -> Select[Any]:
    """(favourite id, Account) of the accounts that favourited a status; pages go by `Favourite.id`."""
    return (
        select(Favourite.id, Account)
        .join(Account, Account.id == Favourite.account_id)
        .where(Favourite.status_id == status_id, Account.suspended_at.is_(None))
    )


def reblogged_by_query(status_id: int) -> Select[Any]:
    """(boost id, Account) of the accounts that boosted a status; pages go by the boost's `Status.id`."""
    return (
        select(Status.id, Account)
        .join(Account, Account.id == Status.account_id)
        .where(Status.reblog_of_id == status_id, Status.deleted_at.is_(None), Account.suspended_at.is_(None))
    )


def visible_to(viewer_id: int | None) -> Any:
    """SQL condition: the status is readable by `viewer_id` by its visibility, mentions and follows."""
    public = Status.visibility.in_(("public", "unlisted"))
    if viewer_id is None:
        return public
    return or_(
        public,
        Status.account_id == viewer_id,
        exists().where(Mention.status_id == Status.id, Mention.account_id == viewer_id),
        and_(
            Status.visibility == "private",
            exists().where(Follow.account_id == viewer_id, Follow.target_account_id == Status.account_id),
        ),
    )


def hidden_author(viewer_id: int | ColumnElement[int]) -> ColumnElement[bool]:
    """SQL condition: `viewer_id` mutes (a mute in force) or blocks the status's author or its domain, or the
    author blocks the viewer; Mastodon leaves such statuses out of the viewer's public timelines, threads and streams."""
    return hidden_account(viewer_id, Status.account_id)


def hidden_account(viewer_id: int, account_id: Any) -> ColumnElement[bool]:
    """SQL condition: `viewer_id` mutes (a mute in force) or blocks the account `account_id` (a column) or its
    domain, or that account blocks the viewer — the accounts Mastodon keeps out of what a viewer browses."""
    return or_(
        exists().where(Mute.account_id == viewer_id, Mute.target_account_id == account_id, mute_in_force()),
        exists().where(Block.account_id == viewer_id, Block.target_account_id == account_id),
        exists().where(Block.account_id == account_id, Block.target_account_id == viewer_id),
        blocks_domain_of(viewer_id, account_id),
    )


def _for_viewer(statement: Select[Any], viewer_id: int | None) -> Select[Any]:
    return statement if viewer_id is None else statement.where(~hidden_author(viewer_id))


async def ancestor_statuses(session: AsyncSession, status: Status, viewer_id: int | None) -> list[Status]:
    """The statuses `status` replies to, up the chain, oldest first, that `viewer_id` may read."""
    if status.in_reply_to_id is None:
        return []
    chain = (
        select(Status.id, Status.in_reply_to_id, literal(1).label("depth"))
        .where(Status.id == status.in_reply_to_id)
        .cte("ancestors", recursive=True)
    )
    parent = aliased(Status)
    chain = chain.union_all(
        select(parent.id, parent.in_reply_to_id, chain.c.depth + 1)
        .join(chain, parent.id == chain.c.in_reply_to_id)
        .where(chain.c.depth < MAX_CONTEXT_DEPTH)
    )
    statement = _readable(select(Status).join(chain, chain.c.id == Status.id).where(visible_to(viewer_id)))
    statement = _for_viewer(statement, viewer_id)
    return list((await session.execute(statement.order_by(Status.id))).scalars())


async def descendant_statuses(session: AsyncSession, status: Status, viewer_id: int | None) -> list[Status]:
    """Replies to `status`, and replies to those, in id order, that `viewer_id` may read."""
    tree = (
        select(Status.id, literal(1).label("depth"))
        .where(Status.in_reply_to_id == status.id)
        .cte("descendants", recursive=True)
    )
    child = aliased(Status)
    tree = tree.union_all(
        select(child.id, tree.c.depth + 1)
        .join(tree, child.in_reply_to_id == tree.c.id)
        .where(tree.c.depth < MAX_CONTEXT_DEPTH)
    )
    statement = _readable(select(Status).join(tree, tree.c.id == Status.id).where(visible_to(viewer_id)))
    statement = _for_viewer(statement, viewer_id)
    return list((await session.execute(statement.order_by(Status.id))).scalars())


async def search_statuses(
    session: AsyncSession, text: str, viewer_id: int | None, *, limit: int, offset: int = 0
) -> list[Status]:
    """Original statuses whose text contains `text` (case-insensitive), readable by the viewer, newest first."""
    pattern = f"%{_escape_like(text)}%"
    statement = _readable(
        select(Status).where(
            Status.reblog_of_id.is_(None),
            or_(Status.content.ilike(pattern, escape="\\"), Status.spoiler_text.ilike(pattern, escape="\\")),
            visible_to(viewer_id),
        )
    )
    rows = await session.execute(statement.order_by(Status.id.desc()).limit(limit).offset(offset))
    return list(rows.scalars())


async def search_tags(session: AsyncSession, text: str, *, limit: int, offset: int = 0) -> list[Tag]:
    """Hashtags whose name starts with `text` (with or without '#'), shortest first."""
    prefix = f"{_escape_like(text.lstrip('#').lower())}%"
    statement = (
        select(Tag)
        .where(Tag.name.like(prefix, escape="\\"))
        .order_by(func.length(Tag.name), Tag.name)
        .limit(limit)
        .offset(offset)
    )
    return list((await session.execute(statement)).scalars())


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def add_bookmark(session: AsyncSession, account_id: int, status_id: int) -> None:
    """Bookmark a status for an account (bookmarks are private and never federate); idempotent."""
    already = await session.scalar(
        select(exists().where(Bookmark.account_id == account_id, Bookmark.status_id == status_id))
    )
    if not already:
        session.add(Bookmark(account_id=account_id, status_id=status_id))
        await session.flush()


async def remove_bookmark(session: AsyncSession, account_id: int, status_id: int) -> None:
    """Remove an account's bookmark of a status, if any."""
    await session.execute(
        delete(Bookmark).where(Bookmark.account_id == account_id, Bookmark.status_id == status_id)
    )


async def search_accounts(
    session: AsyncSession, text: str, *, limit: int, offset: int = 0, following_of: int | None = None
) -> list[Account]:
    """Accounts whose username starts with, or display name contains, `text` (case-insensitive; a
    `user@domain` query matches that address), not suspended; exact username first, then the most followed.
    With `following_of`, only accounts that account follows."""
    username, _, domain = text.lstrip("@").partition("@")
    prefix = f"{_escape_like(username.lower())}%"
    matches = or_(
        func.lower(Account.username).like(prefix, escape="\\"),
        func.lower(Account.display_name).like(f"%{_escape_like(text.lower())}%", escape="\\"),
    )
    statement = select(Account).where(
        matches if not domain else func.lower(Account.username) == username.lower(),
        Account.suspended_at.is_(None),
        Account.actor_type != "Application",
    )
    if domain:
        statement = statement.where(
            func.lower(Account.domain).like(f"{_escape_like(domain.lower())}%", escape="\\")
        )
    if following_of is not None:
        statement = statement.where(
            exists().where(Follow.account_id == following_of, Follow.target_account_id == Account.id)
        )
    exact_first = (func.lower(Account.username) != username.lower()).asc()
    statement = statement.order_by(exact_first, Account.followers_count.desc(), Account.id)
    return list((await session.execute(statement.limit(limit).offset(offset))).scalars())
