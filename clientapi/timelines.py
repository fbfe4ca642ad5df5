"""Timelines: home (the caller's fan-out rows), public, hashtag, and the caller's bookmarks and favourites.

Each reads one page with a single indexed range scan (`storage.timelines`) and renders it as a batch.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clientapi.auth import AuthContext, optional_auth, require_auth, viewer_account
from clientapi.entities.statuses import statuses_to_entities
from clientapi.pagination import Page, apply_page, in_display_order, link_headers
from clientapi.params import read_params
from clientapi.responses import api_response
from storage.context import Context
from storage.timelines import (
    ListQuery,
    bookmarks_query,
    favourites_query,
    home_query,
    public_query,
    tag_query,
)


async def _page_response(request: Request, query: ListQuery, viewer_id: int | None) -> Response:
    ctx: Context = request.state.ctx
    page = Page.from_params(await read_params(request))
    async with ctx.db.read() as session:
        rows = (await session.execute(apply_page(query.statement, query.page_column, page))).all()
        rows = in_display_order(rows, page)
        entities = await statuses_to_entities(session, ctx, rows, viewer_id)
    return api_response(entities, headers=link_headers(request, [row.page_id for row in rows]))


def _account_id(auth: AuthContext) -> int:
    assert auth.account is not None
    return auth.account.id


async def home(request: Request) -> Response:
    auth = await require_auth(request, "read:statuses")
    account_id = _account_id(auth)
    return await _page_response(request, home_query(account_id), account_id)


async def _public_flags(request: Request) -> dict[str, bool]:
    params = await read_params(request)
    return {
        "local": bool(params.get_bool("local", False)),
        "remote": bool(params.get_bool("remote", False)),
        "only_media": bool(params.get_bool("only_media", False)),
    }


async def public(request: Request) -> Response:
    viewer = viewer_account(await optional_auth(request, "read:statuses"))
    query = public_query(**await _public_flags(request))
    return await _page_response(request, query, viewer.id if viewer else None)


async def hashtag(request: Request) -> Response:
    viewer = viewer_account(await optional_auth(request, "read:statuses"))
    query = tag_query(request.path_params["hashtag"], **await _public_flags(request))
    return await _page_response(request, query, viewer.id if viewer else None)


async def bookmarks(request: Request) -> Response:
    auth = await require_auth(request, "read:bookmarks")
    account_id = _account_id(auth)
    return await _page_response(request, bookmarks_query(account_id), account_id)


async def favourites(request: Request) -> Response:
    auth = await require_auth(request, "read:favourites")
    account_id = _account_id(auth)
    return await _page_response(request, favourites_query(account_id), account_id)


routes = [
    Route("/api/v1/timelines/home", home, methods=["GET"]),
    Route("/api/v1/timelines/public", public, methods=["GET"]),
    Route("/api/v1/timelines/tag/{hashtag}", hashtag, methods=["GET"]),
    Route("/api/v1/bookmarks", bookmarks, methods=["GET"]),
    Route("/api/v1/favourites", favourites, methods=["GET"]),
]
