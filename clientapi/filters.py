"""Filters v2 (`/api/v2/filters`): the caller's content filters with their keywords, as Mastodon 4 serves them.

A filter has a title, contexts (`home`, `notifications`, `public`, `thread`, `account`), an action (`warn`,
`hide`, `blur`), an optional expiry, keywords and statuses. `keywords_attributes` follows Rails' nested
attributes: an item with an `id` updates (or, with `_destroy`, deletes) that keyword of the filter (404 when
the filter has no such keyword), an item without one adds a keyword, an item with nothing in it is ignored.
Another account's filter is a 404. Every change is one transaction, after which the owner's streams hear
`filters_changed`. Parameters: `clientapi.filter_params`; how filters apply: `clientapi.filtering`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clientapi.entities.filters import filter_to_entity
from clientapi.errors import NotFound
from clientapi.filter_access import caller_id, delete_own, own, publish_change
from clientapi.filter_params import FilterChanges, KeywordChange
from clientapi.params import read_params
from clientapi.responses import api_response
from storage.context import Context
from storage.filters import filters_of, keywords_of, owned_filter, statuses_of
from storage.models import Filter, FilterKeyword


async def apply_keyword_changes(
    session: AsyncSession, account_filter: Filter, changes: list[KeywordChange]
) -> None:
    """Add, change and delete the filter's keywords as `keywords_attributes` asks (404 for an `id` that is
    not one of this filter's keywords; the caller's transaction then writes nothing)."""
    held = await keywords_of(session, [account_filter.id])
    existing = {keyword.id: keyword for keyword in held[account_filter.id]}
    for change in changes:
        if change.keyword_id is None:
            if not change.destroy:
                whole_word = True if change.whole_word is None else change.whole_word
                session.add(
                    FilterKeyword(filter_id=account_filter.id, keyword=change.keyword, whole_word=whole_word)
                )
            continue
        keyword = existing.get(change.keyword_id)
        if keyword is None:
            raise NotFound()
        if change.destroy:
            await session.delete(keyword)
            continue
        if change.keyword is not None:
            keyword.keyword = change.keyword
        if change.whole_word is not None:
            keyword.whole_word = change.whole_word
    await session.flush()


async def filter_entity(session: AsyncSession, account_filter: Filter) -> dict[str, Any]:
    """The Filter entity with its keywords and statuses as they now are."""
    keywords = await keywords_of(session, [account_filter.id])
    statuses = await statuses_of(session, [account_filter.id])
    return filter_to_entity(account_filter, keywords[account_filter.id], statuses[account_filter.id])


async def index(request: Request) -> Response:
    ctx: Context = request.state.ctx
    owner_id = await caller_id(request, "read:filters")
    async with ctx.db.read() as session:
        found = await filters_of(session, owner_id)
        ids = [one.id for one in found]
        keywords = await keywords_of(session, ids)
        statuses = await statuses_of(session, ids)
    return api_response([filter_to_entity(one, keywords[one.id], statuses[one.id]) for one in found])


async def create(request: Request) -> Response:
    ctx: Context = request.state.ctx
    owner_id = await caller_id(request, "write:filters")
    changes = FilterChanges.read(await read_params(request), creating=True)
    async with ctx.db.transaction() as session:
        account_filter = Filter(account_id=owner_id)
        changes.apply(account_filter)
        session.add(account_filter)
        await session.flush()
        await apply_keyword_changes(session, account_filter, changes.keywords)
        entity = await filter_entity(session, account_filter)
    publish_change(request, owner_id)
    return api_response(entity)


async def show(request: Request) -> Response:
    ctx: Context = request.state.ctx
    owner_id = await caller_id(request, "read:filters")
    async with ctx.db.read() as session:
        return api_response(await filter_entity(session, await own(session, request, owner_id, owned_filter)))


async def update(request: Request) -> Response:
    ctx: Context = request.state.ctx
    owner_id = await caller_id(request, "write:filters")
    changes = FilterChanges.read(await read_params(request), creating=False)
    async with ctx.db.transaction() as session:
        account_filter = await own(session, request, owner_id, owned_filter)
        changes.apply(account_filter)
        await apply_keyword_changes(session, account_filter, changes.keywords)
        entity = await filter_entity(session, account_filter)
    publish_change(request, owner_id)
    return api_response(entity)


async def destroy(request: Request) -> Response:
    return await delete_own(request, owned_filter)  # its keywords and statuses go with it


routes = [
    Route("/api/v2/filters", index, methods=["GET"]),
    Route("/api/v2/filters", create, methods=["POST"]),
    Route("/api/v2/filters/{id}", show, methods=["GET"]),
    Route("/api/v2/filters/{id}", update, methods=["PUT"]),
    Route("/api/v2/filters/{id}", destroy, methods=["DELETE"]),
]
