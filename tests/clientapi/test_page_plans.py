"""The plans PostgreSQL picks for every paged list: a page reads about a page of rows, wherever its window is.

The home timeline once joined `home_feed` to `statuses` in one flat statement, with `max_id` bounding only
the feed; for a page in the middle of a long feed PostgreSQL chose a merge join that walked `pk_statuses`
backwards from the newest status down to the page (half the table). The lists here are filled with enough
rows, and analysed, for the planner to make that choice on the old statement; each page is then planned as
a custom plan (what PostgreSQL does for the first executions of a prepared statement) and as a generic one
(what it may keep for later executions: asyncpg prepares every statement), run with `EXPLAIN ANALYZE`, and
the rows its scans read are counted.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Executable, Select, delete, insert, select, text
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from clientapi.pagination import Page, apply_page, page_statement
from clientapi.timelines import own_list_page
from storage.account_lists import account_statuses_query, followers_query, following_query
from storage.accounts import create_local_account, user_for_account
from storage.db import Database
from storage.ids import new_id
from storage.migrate import migrate
from storage.models import (
    Account,
    Bookmark,
    Favourite,
    Follow,
    HomeFeedEntry,
    List,
    ListFeedEntry,
    Notification,
    Status,
    StatusTag,
    Tag,
)
from storage.notifications import notifications_query
from storage.oauth import create_app, create_token
from storage.timelines import (
    bookmarks_query,
    favourites_query,
    home_query,
    list_timeline_query,
    public_query,
    tag_query,
)
from storage.urls import LocalUrls
from support.databases import create_postgres_database, drop_postgres_database

AUTHORS = 200
FANS = 2000
STATUSES = 20_000
LIMIT = 20
# A page of LIMIT rows, each joined to its status and author (and probed for a deleted status or a
# suspended author), plus the token check: ~5 rows read per row shown. The old home statement read
# ~10,000 rows for a page in the middle of this feed.
ROWS_READ_PER_PAGE = 8 * LIMIT
# Reading more than this for one page means scanning a good part of a 20,000-row table.
WHOLE_TABLE_SHARE = STATUSES // 8
SCAN_NODES = {"Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Heap Scan"}


@dataclass
class Dataset:
    reader_id: int
    token_id: int
    author_id: int
    list_id: int


async def _fill(db: Database) -> Dataset:
    """Authors posting round-robin (the first one a quarter of all statuses), a reader following them all (so
    its feed holds every status) and half the fans, fans following the first author, and the reader's
    notifications, favourites and bookmarks amid others'."""
    start = datetime.now(UTC) - timedelta(days=30)
    async with db.transaction() as session:
        app, _ = await create_app(session, name="plans", redirect_uris=[], scopes="read", website=None)
        reader = await create_local_account(
            session, LocalUrls("http://127.0.0.1:1"), username="reader", password_hash="x"
        )
        user = await user_for_account(session, reader.id)
        token, _ = await create_token(session, app=app, user=user, scopes="read")
        tag = Tag(name="civic")
        session.add(tag)
        # The reader's list holds every status, its other list every other one.
        reader_list, other_list = (
            List(account_id=reader.id, title="all"),
            List(account_id=reader.id, title="half"),
        )
        session.add_all([reader_list, other_list])
        await session.flush()
        people = [
            {
                "id": new_id(),
                "username": f"{kind}{number}",
                "domain": f"{kind}.example",
                "uri": f"https://{kind}.example/users/{number}",
                "fields": [],
                "also_known_as": [],
            }
            for kind, count in (("author", AUTHORS), ("fan", FANS))
            for number in range(count)
        ]
        await session.execute(insert(Account), people)
        authors = [person["id"] for person in people[:AUTHORS]]
        fans = [person["id"] for person in people[AUTHORS:]]
        statuses = [
            {
                "id": new_id(start + timedelta(seconds=number)),
                "uri": f"https://author.example/s/{number}",
                "account_id": authors[0] if number % 4 == 0 else authors[number % AUTHORS],
                "local": False,
                "visibility": "public",
            }
            for number in range(STATUSES)
        ]
        await session.execute(insert(Status), statuses)
        ids = [status["id"] for status in statuses]
        rows: list[tuple[Any, list[dict[str, Any]]]] = [
            (HomeFeedEntry, [{"account_id": reader.id, "status_id": status_id} for status_id in ids]),
            (StatusTag, [{"status_id": status_id, "tag_id": tag.id} for status_id in ids[::10]]),
            (ListFeedEntry, [{"list_id": reader_list.id, "status_id": status_id} for status_id in ids]),
            (ListFeedEntry, [{"list_id": other_list.id, "status_id": status_id} for status_id in ids[::2]]),
            (
                Follow,
                [{"account_id": reader.id, "target_account_id": other} for other in authors + fans[::2]],
            ),
            (Follow, [{"account_id": fan, "target_account_id": authors[0]} for fan in fans]),
            (
                Follow,
                [{"account_id": fan, "target_account_id": authors[1 + n % 50]} for n, fan in enumerate(fans)],
            ),
            (
                Notification,
                [
                    {
                        "account_id": reader.id if n % 5 == 0 else authors[n % AUTHORS],
                        "from_account_id": fans[n % FANS],
                        "notification_type": "favourite",
                        "status_id": ids[n],
                    }
                    for n in range(STATUSES)
                ],
            ),
            (
                Favourite,
                [
                    {"account_id": reader.id if n % 40 == 0 else fans[n % FANS], "status_id": ids[n]}
                    for n in range(STATUSES)
                ],
            ),
            (
                Bookmark,
                [
                    {"account_id": reader.id if n % 40 == 0 else fans[n % FANS], "status_id": ids[n]}
                    for n in range(STATUSES)
                ],
            ),
        ]
        for model, values in rows:
            await session.execute(insert(model), values)
        dataset = Dataset(reader.id, token.id, authors[0], reader_list.id)
    async with db.write_engine.connect() as connection:
        await connection.execute(text("COMMIT"))
        await connection.execute(text("ANALYZE"))
    return dataset


@pytest.fixture
async def filled() -> AsyncIterator[tuple[Database, Dataset]]:
    url = await create_postgres_database()
    db = Database(url)
    try:
        await migrate(db)
        yield db, await _fill(db)
    finally:
        await db.dispose()
        await drop_postgres_database(url)


# --- reading plans ------------------------------------------------------------------------------------

DIALECT = asyncpg_dialect()


def _sql_literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _rows_read(node: dict[str, Any]) -> int:
    """Rows the scans of a plan (from `EXPLAIN (ANALYZE, FORMAT JSON)`) read, kept or filtered out."""
    read = 0
    if node["Node Type"] in SCAN_NODES:
        per_loop = node["Actual Rows"] + node.get("Rows Removed by Filter", 0)
        read += per_loop * node["Actual Loops"]
    return read + sum(_rows_read(child) for child in node.get("Plans", []))


def _outline(node: dict[str, Any], depth: int = 0) -> str:
    """One line per plan node: type, relation or index, rows × loops."""
    name = node.get("Index Name") or node.get("Relation Name") or ""
    line = f"{'  ' * depth}{node['Node Type']} {name} rows={node['Actual Rows']}×{node['Actual Loops']}"
    return "\n".join([line, *(_outline(child, depth + 1) for child in node.get("Plans", []))])


async def rows_read(
    connection: AsyncConnection, statement: Executable, values: dict[str, Any], *, generic: bool
) -> tuple[int, str]:
    """Prepare `statement`, run it once under `EXPLAIN ANALYZE` as a custom or a generic plan, and return
    the rows its scans read with an outline of the plan."""
    expanded = statement.compile(dialect=DIALECT).construct_expanded_state(values)
    arguments = ", ".join(_sql_literal(expanded.parameters[name]) for name in expanded.positiontup or [])
    mode = "force_generic_plan" if generic else "force_custom_plan"
    await connection.execute(text(f"SET plan_cache_mode = {mode}"))
    await connection.exec_driver_sql(f"PREPARE page AS {expanded.statement}")
    try:
        execute = f"EXECUTE page({arguments})" if arguments else "EXECUTE page"
        result = await connection.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {execute}")
        document = result.scalar_one()
    finally:
        await connection.exec_driver_sql("DEALLOCATE page")
    plan = (json.loads(document) if isinstance(document, str) else document)[0]["Plan"]
    return _rows_read(plan), _outline(plan)


# --- the lists -------------------------------------------------------------------------------------------

# A list: (window → (statement, values)), with the page id of a fetched row.
Paged = Callable[[Page], tuple[Select[Any], dict[str, Any]]]


def _own_list(list_of: Any, dataset: Dataset) -> Paged:
    return lambda page: own_list_page(list_of, page, dataset.reader_id, dataset.token_id)


def _lists(dataset: Dataset) -> dict[str, Paged]:
    return {
        "home": _own_list(home_query, dataset),
        "bookmarks": _own_list(bookmarks_query, dataset),
        "favourites": _own_list(favourites_query, dataset),
        "notifications": lambda page: (
            apply_page(notifications_query(dataset.reader_id), Notification.id, page),
            {},
        ),
        "account statuses": lambda page: (
            page_statement(account_statuses_query(dataset.author_id, dataset.reader_id), page),
            {},
        ),
        "list": lambda page: (page_statement(list_timeline_query(dataset.list_id), page), {}),
        "public": lambda page: (page_statement(public_query(), page), {}),
        "tag": lambda page: (page_statement(tag_query("civic"), page), {}),
        "followers": lambda page: (page_statement(followers_query(dataset.author_id), page), {}),
        "following": lambda page: (page_statement(following_query(dataset.reader_id), page), {}),
    }


async def _ids_at(connection: AsyncConnection, paged: Paged, *fractions: float) -> list[int]:
    """The page ids at these fractions of the list's length, from the newest."""
    statement, values = paged(Page(limit=STATUSES))
    rows = (await connection.execute(statement, values)).all()
    assert len(rows) > 10 * LIMIT, "the list is too short to tell a bounded plan from a walk"
    firsts = [rows[int(len(rows) * fraction)][0] for fraction in fractions]
    return [int(first if isinstance(first, int) else first.id) for first in firsts]


async def _pages_read(
    connection: AsyncConnection, paged: Paged, *, generic: bool
) -> dict[str, tuple[int, str]]:
    """Window name → (rows read, plan outline) for the first page and pages a quarter and three quarters
    down the list, both ways."""
    shallow, deep = await _ids_at(connection, paged, 0.25, 0.75)
    windows = {
        "first page": Page(limit=LIMIT),
        "max_id 1/4 down": Page(max_id=shallow, limit=LIMIT),
        "max_id 3/4 down": Page(max_id=deep, limit=LIMIT),
        "min_id 1/4 down": Page(min_id=shallow, limit=LIMIT),
        "min_id 3/4 down": Page(min_id=deep, limit=LIMIT),
    }
    read = {}
    for name, page in windows.items():
        statement, values = paged(page)
        read[name] = await rows_read(connection, statement, values, generic=generic)
    return read


def _grows_with_depth(shallow: int, deep: int) -> bool:
    return max(shallow, deep) > 1.5 * min(shallow, deep) + 2 * LIMIT


async def test_a_home_or_list_page_reads_one_page_in_every_plan(filled: tuple[Database, Dataset]) -> None:
    db, dataset = filled
    too_many: list[str] = []
    async with db.write_engine.connect() as connection:
        for name in ("home", "list"):
            for generic in (False, True):
                pages = await _pages_read(connection, _lists(dataset)[name], generic=generic)
                for window, (read, outline) in pages.items():
                    if read > ROWS_READ_PER_PAGE:
                        kind = "generic" if generic else "custom"
                        too_many.append(f"{name}, {window}, {kind} plan: {read} rows read\n{outline}")
    assert not too_many, "\n\n".join(too_many)


async def test_no_page_walks_its_table(filled: tuple[Database, Dataset]) -> None:
    """Every paged list, custom and generic plans: a page three quarters down the list reads about as many
    rows as one a quarter down (nothing walks from either end of an index to the window), and no page reads
    a large part of a table (the tables hold 20,000 rows).

    Pages may read more than the rows they show where the owner's rows are a small share of an index
    ordered by id (the planner's choice, bounded by that share, not by depth)."""
    db, dataset = filled
    failures: list[str] = []
    async with db.write_engine.connect() as connection:
        for name, paged in _lists(dataset).items():
            for generic in (False, True):
                kind = "generic" if generic else "custom"
                pages = await _pages_read(connection, paged, generic=generic)
                for direction in ("max_id", "min_id"):
                    shallow, _ = pages[f"{direction} 1/4 down"]
                    deep, outline = pages[f"{direction} 3/4 down"]
                    if _grows_with_depth(shallow, deep):
                        failures.append(
                            f"{name}, {direction}, {kind} plan: {shallow} rows read 1/4 down, "
                            f"{deep} 3/4 down\n{outline}"
                        )
                for window, (read, outline) in pages.items():
                    if read > WHOLE_TABLE_SHARE:
                        failures.append(f"{name}, {window}, {kind} plan: {read} rows read\n{outline}")
    assert not failures, "\n\n".join(failures)


async def test_a_deleted_status_leaves_every_feed_by_index(filled: tuple[Database, Dataset]) -> None:
    """Both deletion paths (outbox and inbox) take a status's rows out of every home feed by status id,
    in the deleting transaction: an index, not a scan of every feed (rolled back with the connection)."""
    db, _ = filled
    async with db.write_engine.connect() as connection:
        status_id = await connection.scalar(select(HomeFeedEntry.status_id).limit(1))
        for feed in (HomeFeedEntry, ListFeedEntry):
            statement = delete(feed).where(feed.status_id.in_([status_id]))
            for generic in (False, True):
                read, outline = await rows_read(connection, statement, {}, generic=generic)
                assert read <= 2, outline
