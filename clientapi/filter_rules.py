"""The keywords and statuses of a v2 filter, one at a time: `/api/v2/filters/:filter_id/keywords`,
`/api/v2/filters/keywords/:id`, `/api/v2/filters/:filter_id/statuses`, `/api/v2/filters/statuses/:id`.

As in Mastodon: only the caller's filters and their rules are reachable (else 404); a status added to a
filter must be one the caller may see (else 422, said the same way as for a missing one) and not already
in it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clientapi.entities.filters import filter_status_to_entity, keyword_to_entity
from clientapi.errors import Unprocessable, ValidationCode
from clientapi.filter_access import caller_id, delete_own, own, publish_change, show_own
from clientapi.filter_params import parse_keyword
from clientapi.params import read_params
from clientapi.responses import api_response
from storage.context import Context
from storage.filters import keywords_of, owned_filter, owned_filter_status, owned_keyword, statuses_of
from storage.models import FilterKeyword, FilterStatus
from storage.statuses import can_see, status_by_id

RulesOf = Callable[[AsyncSession, list[int]], Awaitable[dict[int, list[Any]]]]


async def _rules(request: Request, rules_of: RulesOf, to_entity: Callable[[Any], dict[str, Any]]) -> Response:
    """The keywords or status entries of the caller's filter named in the path."""
    ctx: Context = request.state.ctx
    owner_id = await caller_id(request, "read:filters")
    async with ctx.db.read() as session:
        account_filter = await own(session, request, owner_id, owned_filter, "filter_id")
        found = (await rules_of(session, [account_filter.id]))[account_filter.id]
    return api_response([to_entity(rule) for rule in found])


async def keywords(request: Request) -> Response:
    return await _rules(request, keywords_of, keyword_to_entity)


async def _add(
    request: Request,
    make_rule: Callable[[AsyncSession, int, int], Awaitable[Any]],
    to_entity: Callable[[Any], dict[str, Any]],
) -> Response:
    """Add a rule made by `make_rule(session, owner id, filter id)` (which reads and checks the request's
    parameters, after its token and scope were checked) to the caller's filter in the path."""
    ctx: Context = request.state.ctx
    owner_id = await caller_id(request, "write:filters")
    async with ctx.db.transaction() as session:
        account_filter = await own(session, request, owner_id, owned_filter, "filter_id")
        rule = await make_rule(session, owner_id, account_filter.id)
        session.add(rule)
        await session.flush()
        entity = to_entity(rule)
    publish_change(request, owner_id)
    return api_response(entity)


async def add_keyword(request: Request) -> Response:
    async def make_rule(session: AsyncSession, owner_id: int, filter_id: int) -> FilterKeyword:
        params = await read_params(request)
        keyword = parse_keyword(params.get("keyword"), "keyword")
        whole_word = params.get_bool("whole_word", True)
        return FilterKeyword(filter_id=filter_id, keyword=keyword, whole_word=whole_word)

    return await _add(request, make_rule, keyword_to_entity)


async def show_keyword(request: Request) -> Response:
    return await show_own(request, owned_keyword, keyword_to_entity)


async def update_keyword(request: Request) -> Response:
    ctx: Context = request.state.ctx
    owner_id = await caller_id(request, "write:filters")
    params = await read_params(request)
    new_keyword = parse_keyword(params.get("keyword"), "keyword") if "keyword" in params else None
    whole_word = params.get_bool("whole_word")
    async with ctx.db.transaction() as session:
        keyword = await own(session, request, owner_id, owned_keyword)
        if new_keyword is not None:
            keyword.keyword = new_keyword
        if whole_word is not None:
            keyword.whole_word = whole_word
        await session.flush()
        entity = keyword_to_entity(keyword)
    publish_change(request, owner_id)
    return api_response(entity)


async def delete_keyword(request: Request) -> Response:
    return await delete_own(request, owned_keyword)


async def statuses(request: Request) -> Response:
    return await _rules(request, statuses_of, filter_status_to_entity)


async def add_status(request: Request) -> Response:
    async def make_rule(session: AsyncSession, owner_id: int, filter_id: int) -> FilterStatus:
        status_id = (await read_params(request)).get_id("status_id")
        status = await status_by_id(session, status_id) if status_id is not None else None
        if status is None or not await can_see(session, owner_id, status):
            raise Unprocessable("Validation failed: Status must exist", field="status_id")
        already = exists().where(FilterStatus.filter_id == filter_id, FilterStatus.status_id == status.id)
        if await session.scalar(select(already)):
            raise Unprocessable(
                "Validation failed: Status has already been taken",
                field="status_id",
                code=ValidationCode.TAKEN,
            )
        return FilterStatus(filter_id=filter_id, status_id=status.id)

    return await _add(request, make_rule, filter_status_to_entity)


async def show_status(request: Request) -> Response:
    return await show_own(request, owned_filter_status, filter_status_to_entity)


async def delete_status(request: Request) -> Response:
    return await delete_own(request, owned_filter_status)


routes = [
    Route("/api/v2/filters/keywords/{id}", show_keyword, methods=["GET"]),
    Route("/api/v2/filters/keywords/{id}", update_keyword, methods=["PUT"]),
    Route("/api/v2/filters/keywords/{id}", delete_keyword, methods=["DELETE"]),
    Route("/api/v2/filters/statuses/{id}", show_status, methods=["GET"]),
    Route("/api/v2/filters/statuses/{id}", delete_status, methods=["DELETE"]),
    Route("/api/v2/filters/{filter_id}/keywords", keywords, methods=["GET"]),
    Route("/api/v2/filters/{filter_id}/keywords", add_keyword, methods=["POST"]),
    Route("/api/v2/filters/{filter_id}/statuses", statuses, methods=["GET"]),
    Route("/api/v2/filters/{filter_id}/statuses", add_status, methods=["POST"]),
]
