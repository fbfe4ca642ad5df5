"""Filters v1 (`/api/v1/filters`), mapped onto v2 filters as Mastodon 4 maps them.

A v1 filter is one keyword: its id is the keyword's, its `phrase` the keyword, and its `context`,
`expires_at` and `irreversible` (a `hide` filter) are those of the filter holding it. Creating one creates
a filter titled with the phrase and that one keyword; updating changes the keyword, and the filter too
(title from the phrase, context, expiry, action) — which is refused (422) when the filter holds other
keywords, since the change would reach them; deleting one deletes the keyword only.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clientapi.entities.filters import v1_filter_to_entity
from clientapi.errors import Unprocessable
from clientapi.filter_access import caller_id, delete_own, own, publish_change, show_own
from clientapi.filter_params import parse_context, parse_expiry, parse_keyword, parse_title
from clientapi.params import Params, read_params
from clientapi.responses import api_response
from storage.context import Context
from storage.filters import keywords_of, owned_keyword
from storage.models import Filter, FilterKeyword

MULTIPLE_KEYWORDS = (
    "These parameters cannot be changed from this application because they apply to more than one filter "
    "keyword. Use a more recent application or the web interface."
)


def _filter_settings(params: Params, *, creating: bool) -> dict[str, Any]:
    """The filter's attributes a v1 request sets (on update, only those given)."""
    settings: dict[str, Any] = {}
    if creating or "phrase" in params:
        settings["title"] = parse_title(params, "phrase")
    if creating or "context" in params:
        settings["context"] = parse_context(params)
    if creating or "expires_in" in params:
        settings["expires_at"] = parse_expiry(params)
    if creating or "irreversible" in params:
        settings["action"] = "hide" if params.get_bool("irreversible", False) else "warn"
    return settings


async def _owned_pair(
    session: AsyncSession, owner_id: int, keyword_id: int
) -> tuple[FilterKeyword, Filter] | None:
    """The keyword `keyword_id` of one of `owner_id`'s filters, with its filter."""
    row = (
        await session.execute(
            select(FilterKeyword, Filter)
            .join(Filter, Filter.id == FilterKeyword.filter_id)
            .where(FilterKeyword.id == keyword_id, Filter.account_id == owner_id)
        )
    ).one_or_none()
    return (row[0], row[1]) if row is not None else None


def _pair_to_entity(pair: tuple[FilterKeyword, Filter]) -> dict[str, Any]:
    return v1_filter_to_entity(*pair)


async def index(request: Request) -> Response:
    ctx: Context = request.state.ctx
    owner_id = await caller_id(request, "read:filters")
    async with ctx.db.read() as session:
        rows = await session.execute(
            select(FilterKeyword, Filter)
            .join(Filter, Filter.id == FilterKeyword.filter_id)
            .where(Filter.account_id == owner_id)
            .order_by(FilterKeyword.id)
        )
        return api_response(
            [v1_filter_to_entity(keyword, account_filter) for keyword, account_filter in rows]
        )


async def create(request: Request) -> Response:
    ctx: Context = request.state.ctx
    owner_id = await caller_id(request, "write:filters")
    params = await read_params(request)
    settings = _filter_settings(params, creating=True)
    phrase = parse_keyword(params.get("phrase"), "phrase")
    async with ctx.db.transaction() as session:
        account_filter = Filter(account_id=owner_id, **settings)
        session.add(account_filter)
        await session.flush()
        keyword = FilterKeyword(
            filter_id=account_filter.id, keyword=phrase, whole_word=params.get_bool("whole_word", True)
        )
        session.add(keyword)
        await session.flush()
        entity = v1_filter_to_entity(keyword, account_filter)
    publish_change(request, owner_id)
    return api_response(entity)


async def show(request: Request) -> Response:
    return await show_own(request, _owned_pair, _pair_to_entity)


async def update(request: Request) -> Response:
    ctx: Context = request.state.ctx
    owner_id = await caller_id(request, "write:filters")
    params = await read_params(request)
    settings = _filter_settings(params, creating=False)
    phrase = parse_keyword(params.get("phrase"), "phrase") if "phrase" in params else None
    whole_word = params.get_bool("whole_word")
    async with ctx.db.transaction() as session:
        keyword, account_filter = await own(session, request, owner_id, _owned_pair)
        if phrase is not None:
            keyword.keyword = phrase
        if whole_word is not None:
            keyword.whole_word = whole_word
        changed = {name: value for name, value in settings.items() if getattr(account_filter, name) != value}
        if changed:
            siblings = (await keywords_of(session, [account_filter.id]))[account_filter.id]
            if len(siblings) > 1:
                raise Unprocessable(MULTIPLE_KEYWORDS)
            for name, value in changed.items():
                setattr(account_filter, name, value)
        await session.flush()
        entity = v1_filter_to_entity(keyword, account_filter)
    publish_change(request, owner_id)
    return api_response(entity)


async def destroy(request: Request) -> Response:
    return await delete_own(request, owned_keyword)  # the keyword only: its filter stays


routes = [
    Route("/api/v1/filters", index, methods=["GET"]),
    Route("/api/v1/filters", create, methods=["POST"]),
    Route("/api/v1/filters/{id}", show, methods=["GET"]),
    Route("/api/v1/filters/{id}", update, methods=["PUT"]),
    Route("/api/v1/filters/{id}", destroy, methods=["DELETE"]),
]
