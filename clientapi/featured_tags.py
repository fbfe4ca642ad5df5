"""Featured hashtags: the caller's (`/api/v1/featured_tags`: list, create, delete, suggestions) and any
account's (`/api/v1/accounts/:id/featured_tags`). Creating and deleting are outbox actions, announced to
followers; the counts are Mastodon's (`storage.featured_tags`). Featured hashtags of remote accounts are not
fetched, so a remote account shows none."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clientapi.account_lookup import account_from_path
from clientapi.auth import caller_account, optional_auth
from clientapi.entities.tags import featured_tag_to_entity, tags_to_entities
from clientapi.errors import NotFound, Unprocessable
from clientapi.params import read_params
from clientapi.responses import api_response
from outbox import actions
from storage.context import Context
from storage.featured_tags import featured_tags_of, suggested_tags
from storage.ids import parse_id
from storage.tags import display_name_for, tag_name_from_input


async def index(request: Request) -> Response:
    ctx: Context = request.state.ctx
    account = await caller_account(request, "read:accounts")
    async with ctx.db.read() as session:
        featured = await featured_tags_of(session, account.id)
    return api_response([featured_tag_to_entity(ctx, account, view) for view in featured])


async def create(request: Request) -> Response:
    ctx: Context = request.state.ctx
    account = await caller_account(request, "write:accounts")
    typed = (await read_params(request)).get_str("name", required=True) or ""
    name = tag_name_from_input(typed)
    if name is None:
        raise Unprocessable("Validation failed: Name is invalid")
    created = await actions.feature_tag(ctx, account, name, display_name_for(typed, name))
    async with ctx.db.read() as session:
        views = [view for view in await featured_tags_of(session, account.id) if view.id == created.id]
    return api_response(featured_tag_to_entity(ctx, account, views[0]))


async def destroy(request: Request) -> Response:
    ctx: Context = request.state.ctx
    account = await caller_account(request, "write:accounts")
    featured_id = parse_id(request.path_params["id"])
    if featured_id is None or not await actions.unfeature_tag(ctx, account, featured_id=featured_id):
        raise NotFound()
    return api_response({})


async def suggestions(request: Request) -> Response:
    ctx: Context = request.state.ctx
    account = await caller_account(request, "read:accounts")
    async with ctx.db.read() as session:
        tags = await suggested_tags(session, account.id)
        return api_response(await tags_to_entities(session, ctx, tags, account.id))


async def of_account(request: Request) -> Response:
    ctx: Context = request.state.ctx
    await optional_auth(request)  # any token, or none (as Mastodon)
    async with ctx.db.read() as session:
        account = await account_from_path(session, request)
        if account.suspended_at is not None:
            raise NotFound()
        featured = await featured_tags_of(session, account.id) if account.domain is None else []
    return api_response([featured_tag_to_entity(ctx, account, view) for view in featured])


routes = [
    Route("/api/v1/featured_tags", index, methods=["GET"]),
    Route("/api/v1/featured_tags", create, methods=["POST"]),
    Route("/api/v1/featured_tags/suggestions", suggestions, methods=["GET"]),
    Route("/api/v1/featured_tags/{id}", destroy, methods=["DELETE"]),
    Route("/api/v1/accounts/{id}/featured_tags", of_account, methods=["GET"]),
]
