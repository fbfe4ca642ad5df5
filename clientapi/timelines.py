"""Timelines: home (the caller's fan-out rows), public, hashtag, and the caller's bookmarks and favourites.

Each reads one page with a single indexed range scan (`storage.timelines`) and renders it as a batch.

The caller's own lists (home, bookmarks, favourites) are the hottest reads of the API, so they take the
short path: the token's grant comes from memory (`clientapi.auth.account_grant`), the page statement is
built once per window shape with bound parameters, it carries the token's liveness check
(`storage.oauth.token_still_valid`) so authentication costs no round trip of its own, and the page and
everything it refers to are read on one Core connection.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from apub.languages import accepted_language_tags
from clientapi.auth import account_grant, confirm_grant, optional_auth, viewer_account
from clientapi.entities.statuses import statuses_to_entities
from clientapi.pagination import Page, in_display_order, link_headers, page_statement
from clientapi.params import read_params
from clientapi.responses import api_response
from storage.context import Context
from storage.oauth import token_still_valid
from storage.timelines import (
    ListQuery,
    bookmarks_query,
    favourites_query,
    home_query,
    public_query,
    tag_query,
    written_out,
)

AccountList = Callable[[int | ColumnElement[int]], ListQuery]


async def page_response(
    request: Request, query: ListQuery, viewer_id: int | None, *, context: str | None
) -> Response:
    """One page of statuses from `query`, rendered for `viewer_id` with the viewer's filters of `context`
    applied, and its Link header (over the page's rows, filtered out or not, so paging goes on past them)."""
    ctx: Context = request.state.ctx
    page = Page.from_params(await read_params(request))
    async with ctx.db.read() as session:
        rows = (await session.execute(page_statement(query, page))).all()
        rows = in_display_order(rows, page)
        entities = await statuses_to_entities(
            session,
            ctx,
            rows,
            viewer_id,
            context=context,
            accepted_languages=accepted_language_tags(request.headers.get("accept-language")),
        )
    return api_response(entities, headers=link_headers(request, [row.page_id for row in rows]))


def _bound(name: str) -> Any:
    return bindparam(name)


@functools.cache
def _own_list_statement(
    list_of: AccountList, with_max: bool, with_since: bool, with_min: bool
) -> Select[Any]:
    """The page statement of one of the caller's lists for one window shape, guarded by the token's
    liveness; built once per process (it is immutable), so a request only binds values."""
    query = list_of(written_out(_bound("account_id")))
    window = Page(
        max_id=_bound("max_id") if with_max else None,
        since_id=_bound("since_id") if with_since else None,
        min_id=_bound("min_id") if with_min else None,
        limit=_bound("limit"),
    )
    guarded = dataclasses.replace(
        query, statement=query.statement.where(token_still_valid(_bound("token_id")))
    )
    return page_statement(guarded, window)


def own_list_page(
    list_of: AccountList, page: Page, account_id: int, token_id: int
) -> tuple[Select[Any], dict[str, Any]]:
    """The statement and values reading one page of an account's own list (home, bookmarks, favourites),
    guarded by the liveness of its token `token_id`."""
    statement = _own_list_statement(
        list_of, page.max_id is not None, page.since_id is not None, page.min_id is not None
    )
    values = {
        "account_id": account_id,
        "token_id": token_id,
        "max_id": page.max_id,
        "since_id": page.since_id,
        "min_id": page.min_id,
        "limit": page.limit,
    }
    return statement, values


async def _own_list_response(
    request: Request, list_of: AccountList, *scopes: str, context: str | None = None
) -> Response:
    ctx: Context = request.state.ctx
    grant = await account_grant(request, *scopes)
    page = Page.from_params(await read_params(request))
    statement, values = own_list_page(list_of, page, grant.account_id, grant.token_id)
    async with ctx.db.read_engine.connect() as connection:
        rows = in_display_order((await connection.execute(statement, values)).all(), page)
        if not rows:
            await confirm_grant(request, *scopes)  # an empty page, or a token that died since remembered
        entities = await statuses_to_entities(
            connection,
            ctx,
            rows,
            grant.account_id,
            context=context,
            accepted_languages=accepted_language_tags(request.headers.get("accept-language")),
        )
    return api_response(entities, headers=link_headers(request, [row.page_id for row in rows]))


async def home(request: Request) -> Response:
    return await _own_list_response(request, home_query, "read:statuses", context="home")


async def _public_flags(request: Request) -> dict[str, bool]:
    params = await read_params(request)
    return {
        "local": bool(params.get_bool("local", False)),
        "remote": bool(params.get_bool("remote", False)),
        "only_media": bool(params.get_bool("only_media", False)),
    }


async def public(request: Request) -> Response:
    viewer = viewer_account(await optional_auth(request, "read:statuses"))
    viewer_id = viewer.id if viewer else None
    query = public_query(**await _public_flags(request), viewer_id=viewer_id)
    return await page_response(request, query, viewer_id, context="public")


async def hashtag(request: Request) -> Response:
    viewer = viewer_account(await optional_auth(request, "read:statuses"))
    viewer_id = viewer.id if viewer else None
    query = tag_query(request.path_params["hashtag"], **await _public_flags(request), viewer_id=viewer_id)
    return await page_response(request, query, viewer_id, context="public")


async def bookmarks(request: Request) -> Response:
    return await _own_list_response(request, bookmarks_query, "read:bookmarks")


async def favourites(request: Request) -> Response:
    return await _own_list_response(request, favourites_query, "read:favourites")


routes = [
    Route("/api/v1/timelines/home", home, methods=["GET"]),
    Route("/api/v1/timelines/public", public, methods=["GET"]),
    Route("/api/v1/timelines/tag/{hashtag}", hashtag, methods=["GET"]),
    Route("/api/v1/bookmarks", bookmarks, methods=["GET"]),
    Route("/api/v1/favourites", favourites, methods=["GET"]),
]
