"""Hashtags: one hashtag (`GET /api/v1/tags/:name`), following it (`…/follow`, `…/unfollow`, the caller's
`/api/v1/followed_tags`) and featuring it on one's profile (`…/feature`, `…/unfeature`, Mastodon 4.4).

As in Mastodon a name that is no valid hashtag is a 404; a valid one nobody used yet answers a Tag with an
empty id (an unsaved tag), and following or featuring it stores it. Follows are local and never federated;
featuring is an outbox action, announced to followers.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clientapi.auth import caller_account, optional_auth, viewer_account
from clientapi.entities.tags import tags_to_entities
from clientapi.errors import NotFound
from clientapi.pagination import Page, in_display_order, link_headers, page_statement
from clientapi.params import read_params
from clientapi.responses import api_response
from outbox import actions
from storage.context import Context
from storage.models import Account, Tag
from storage.tags import (
    display_name_for,
    followed_tags_query,
    tag_by_name,
    tag_name_from_input,
)

FOLLOWED_TAGS_LIMIT = 100  # Mastodon's default page of followed tags
MAX_FOLLOWED_TAGS_LIMIT = 200


def _name(request: Request) -> str:
    name = tag_name_from_input(request.path_params["name"])
    if name is None:
        raise NotFound()
    return name


async def _answer(ctx: Context, name: str, account: Account | None) -> Response:
    """The Tag entity of `name` as `account` sees it (following, featuring)."""
    async with ctx.db.read() as session:
        tag = await tag_by_name(session, name) or Tag(id=None, name=name)
        entities = await tags_to_entities(session, ctx, [tag], account.id if account else None)
    return api_response(entities[0])


async def show(request: Request) -> Response:
    ctx: Context = request.state.ctx
    viewer = viewer_account(await optional_auth(request))  # any token, or none (as Mastodon)
    return await _answer(ctx, _name(request), viewer)


async def follow(request: Request) -> Response:
    ctx: Context = request.state.ctx
    account = await caller_account(request, "write:follows")
    name = _name(request)
    await actions.follow_hashtag(ctx, account.id, name)
    return await _answer(ctx, name, account)


async def unfollow(request: Request) -> Response:
    ctx: Context = request.state.ctx
    account = await caller_account(request, "write:follows")
    name = _name(request)
    await actions.unfollow_hashtag(ctx, account.id, name)
    return await _answer(ctx, name, account)


async def followed(request: Request) -> Response:
    ctx: Context = request.state.ctx
    account = await caller_account(request, "read:follows")
    page = Page.from_params(
        await read_params(request), default_limit=FOLLOWED_TAGS_LIMIT, max_limit=MAX_FOLLOWED_TAGS_LIMIT
    )
    async with ctx.db.read() as session:
        statement = page_statement(followed_tags_query(account.id), page)
        rows = in_display_order((await session.execute(statement)).all(), page)
        entities = await tags_to_entities(session, ctx, [row[1] for row in rows], account.id)
    return api_response(entities, headers=link_headers(request, [row[0] for row in rows]))


async def feature(request: Request) -> Response:
    ctx: Context = request.state.ctx
    account = await caller_account(request, "write:accounts")
    name = _name(request)
    await actions.feature_tag(ctx, account, name, display_name_for(request.path_params["name"], name))
    return await _answer(ctx, name, account)


async def unfeature(request: Request) -> Response:
    ctx: Context = request.state.ctx
    account = await caller_account(request, "write:accounts")
    name = _name(request)
    async with ctx.db.read() as session:
        tag = await tag_by_name(session, name)
    if tag is not None:  # unfeaturing a hashtag one does not feature changes nothing, as in Mastodon
        await actions.unfeature_tag(ctx, account, tag_id=tag.id)
    return await _answer(ctx, name, account)


routes = [
    Route("/api/v1/tags/{name}", show, methods=["GET"]),
    Route("/api/v1/tags/{name}/follow", follow, methods=["POST"]),
    Route("/api/v1/tags/{name}/unfollow", unfollow, methods=["POST"]),
    Route("/api/v1/tags/{name}/feature", feature, methods=["POST"]),
    Route("/api/v1/tags/{name}/unfeature", unfeature, methods=["POST"]),
    Route("/api/v1/followed_tags", followed, methods=["GET"]),
]
