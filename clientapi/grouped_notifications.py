"""Grouped notifications, as Mastodon 4.3 apps read them: `/api/v2/notifications` (a page of groups),
`/api/v2/notifications/:group_key` (one group), `…/accounts`, `…/dismiss`, and the unread counts of
`/api/v1/notifications/unread_count` and `/api/v2/notifications/unread_count` (newer than the
`notifications` marker)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clientapi.auth import require_auth
from clientapi.entities.accounts import account_to_entity
from clientapi.entities.notification_groups import grouped_results, shown_groups
from clientapi.errors import ApiError, NotFound
from clientapi.pagination import Page, link_headers
from clientapi.params import Params, read_params
from clientapi.responses import api_response
from storage.context import Context
from storage.models import Account, Notification
from storage.notification_groups import (
    UNGROUPED,
    allowed_grouped_types,
    group_page,
    groups_data,
    shown_group_key,
)
from storage.notifications import (
    by_group_key,
    count_unread,
    dismiss_group,
    markers_of,
    notifications_query,
    read_marker_id,
)

DEFAULT_GROUPS = 40
MAX_GROUPS = 80
DEFAULT_UNREAD_LIMIT = 100
MAX_UNREAD_LIMIT = 1_000
EXPAND_ACCOUNTS = ("full", "partial_avatars")


def _query(params: Params, account_id: int) -> Any:
    """The caller's notifications the request asks for (`types[]`, `exclude_types[]`, `account_id`,
    `include_filtered`)."""
    return notifications_query(
        account_id,
        types=params.get_str_list("types"),
        exclude_types=params.get_str_list("exclude_types"),
        from_account_id=params.get_id("account_id"),
        include_filtered=bool(params.get_bool("include_filtered", False)),
    )


def _expand_accounts(params: Params) -> str:
    value = params.get_str("expand_accounts") or "full"
    if value not in EXPAND_ACCOUNTS:
        # Mastodon answers an invalid parameter with 400, naming the allowed values.
        raise ApiError(
            400,
            f"Invalid value for 'expand_accounts': '{value}', allowed values are 'full' and 'partial_avatars'",
        )
    return value


async def list_groups(request: Request) -> Response:
    auth = await require_auth(request, "read:notifications")
    assert auth.account is not None
    ctx: Context = request.state.ctx
    params = await read_params(request)
    page = Page.from_params(params, default_limit=DEFAULT_GROUPS, max_limit=MAX_GROUPS)
    grouped_types = allowed_grouped_types(params.get_str_list("grouped_types"))
    partial = _expand_accounts(params) == "partial_avatars"
    async with ctx.db.read() as session:
        rows = await group_page(
            session,
            _query(params, auth.account.id),
            grouped_types,
            limit=page.limit,
            max_id=page.max_id,
            since_id=page.since_id,
            min_id=page.min_id,
        )
        data = await groups_data(
            session,
            auth.account.id,
            {key for row in rows if not (key := shown_group_key(row, grouped_types)).startswith(UNGROUPED)},
            page_range=_page_range(rows, page),
        )
        results = await grouped_results(
            session, ctx, shown_groups(rows, data, grouped_types), auth.account.id, partial_accounts=partial
        )
    return api_response(results, headers=link_headers(request, [row.id for row in rows]))


def _page_range(rows: list[Notification], page: Page) -> tuple[int, int] | None:
    """The ids the page covers (as Mastodon: a short page reaches the end of the window its side)."""
    if not rows:
        return None
    low, high = rows[-1].id, rows[0].id
    if len(rows) < page.limit:
        if page.ascending:
            high = page.max_id - 1 if page.max_id is not None else 2**63 - 1
        else:
            low = page.since_id + 1 if page.since_id is not None else 0
    return low, high


async def _group_rows(request: Request, account_id: int) -> list[Notification]:
    """The caller's notifications of the group in the path, newest first; 404 when there are none."""
    group_key = request.path_params["group_key"]
    async with request.state.ctx.db.read() as session:
        statement = notifications_query(account_id, include_filtered=True).where(by_group_key(group_key))
        rows = list((await session.execute(statement.order_by(Notification.id.desc()))).scalars())
    if not rows:
        raise NotFound()
    return rows


async def get_group(request: Request) -> Response:
    auth = await require_auth(request, "read:notifications")
    assert auth.account is not None
    ctx: Context = request.state.ctx
    group_key = request.path_params["group_key"]
    newest = (await _group_rows(request, auth.account.id))[0]
    async with ctx.db.read() as session:
        data = (
            {}
            if group_key.startswith(UNGROUPED)
            else await groups_data(session, auth.account.id, [group_key], page_range=None)
        )
        grouped = () if group_key.startswith(UNGROUPED) else (newest.notification_type,)
        results = await grouped_results(
            session, ctx, shown_groups([newest], data, grouped), auth.account.id, paginated=False
        )
    if not results["notification_groups"]:
        raise NotFound()
    return api_response(results)


async def group_accounts(request: Request) -> Response:
    auth = await require_auth(request, "read:notifications")
    assert auth.account is not None
    ctx: Context = request.state.ctx
    rows = await _group_rows(request, auth.account.id)
    account_ids = list(dict.fromkeys(row.from_account_id for row in rows))
    async with ctx.db.read() as session:
        statement = select(Account).where(Account.id.in_(account_ids), Account.suspended_at.is_(None))
        accounts = {account.id: account for account in (await session.execute(statement)).scalars()}
    return api_response([account_to_entity(accounts[i], ctx) for i in account_ids if i in accounts])


async def dismiss(request: Request) -> Response:
    auth = await require_auth(request, "write:notifications")
    assert auth.account is not None
    async with request.state.ctx.db.transaction() as session:
        await dismiss_group(session, auth.account.id, request.path_params["group_key"])
    return api_response({})


def _unread_limit(params: Params) -> int:
    limit = params.get_int("limit", DEFAULT_UNREAD_LIMIT, minimum=1, maximum=MAX_UNREAD_LIMIT, clamp=True)
    return limit or DEFAULT_UNREAD_LIMIT


async def _marker_id(session: AsyncSession, account_id: int) -> int | None:
    markers = await markers_of(session, account_id, ["notifications"])
    return read_marker_id(markers[0] if markers else None)


async def unread_count(request: Request) -> Response:
    """v1: notifications newer than the marker, at most `limit` (default 100, at most 1 000)."""
    auth = await require_auth(request, "read:notifications")
    assert auth.account is not None
    params = await read_params(request)
    async with request.state.ctx.db.read() as session:
        marker_id = await _marker_id(session, auth.account.id)
        count = await count_unread(session, _query(params, auth.account.id), marker_id, _unread_limit(params))
    return api_response({"count": count})


async def unread_group_count(request: Request) -> Response:
    """v2: groups newer than the marker, at most `limit`."""
    auth = await require_auth(request, "read:notifications")
    assert auth.account is not None
    params = await read_params(request)
    grouped_types = allowed_grouped_types(params.get_str_list("grouped_types"))
    async with request.state.ctx.db.read() as session:
        marker_id = await _marker_id(session, auth.account.id)
        rows = await group_page(
            session,
            _query(params, auth.account.id),
            grouped_types,
            limit=_unread_limit(params),
            min_id=marker_id if marker_id is not None else 0,
        )
    return api_response({"count": len(rows)})


routes = [
    Route("/api/v1/notifications/unread_count", unread_count, methods=["GET"]),
    Route("/api/v2/notifications", list_groups, methods=["GET"]),
    Route("/api/v2/notifications/unread_count", unread_group_count, methods=["GET"]),
    Route("/api/v2/notifications/{group_key}", get_group, methods=["GET"]),
    Route("/api/v2/notifications/{group_key}/accounts", group_accounts, methods=["GET"]),
    Route("/api/v2/notifications/{group_key}/dismiss", dismiss, methods=["POST"]),
]
