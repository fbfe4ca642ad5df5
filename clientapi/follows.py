"""Following: `follow`, `unfollow`, `remove_from_followers`, and the caller's pending follow requests
(list, authorize, reject). Each answers with the Relationship after the change."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clientapi.account_lookup import account_from_path
from clientapi.accounts import own_account_page
from clientapi.auth import require_auth
from clientapi.entities.accounts import relationship_to_entity
from clientapi.params import read_params
from clientapi.responses import api_response
from outbox import actions
from storage.account_lists import follow_requests_query
from storage.context import Context
from storage.models import Account
from storage.relationships import relationship_facts

FOLLOW_SCOPES = ("write:follows",)


async def relationship_response(ctx: Context, viewer_id: int, target_id: int) -> Response:
    async with ctx.db.read() as session:
        facts = await relationship_facts(session, viewer_id, [target_id])
    return api_response(relationship_to_entity(target_id, facts[target_id]))


async def caller_and_target(request: Request, *scopes: str, path_name: str = "id") -> tuple[Account, Account]:
    ctx: Context = request.state.ctx
    auth = await require_auth(request, *scopes)
    assert auth.account is not None
    async with ctx.db.read() as session:
        target = await account_from_path(session, request, path_name)
    return auth.account, target


async def follow(request: Request) -> Response:
    ctx: Context = request.state.ctx
    me, target = await caller_and_target(request, *FOLLOW_SCOPES)
    params = await read_params(request)
    await actions.follow(
        ctx,
        me,
        target,
        reblogs=bool(params.get_bool("reblogs", True)),
        notify=bool(params.get_bool("notify", False)),
    )
    return await relationship_response(ctx, me.id, target.id)


async def unfollow(request: Request) -> Response:
    ctx: Context = request.state.ctx
    me, target = await caller_and_target(request, *FOLLOW_SCOPES)
    await actions.unfollow(ctx, me, target)
    return await relationship_response(ctx, me.id, target.id)


async def remove_from_followers(request: Request) -> Response:
    ctx: Context = request.state.ctx
    me, target = await caller_and_target(request, *FOLLOW_SCOPES)
    await actions.remove_from_followers(ctx, me, target)
    return await relationship_response(ctx, me.id, target.id)


async def follow_requests(request: Request) -> Response:
    return await own_account_page(request, "read:follows", follow_requests_query)


async def authorize_request(request: Request) -> Response:
    ctx: Context = request.state.ctx
    me, requester = await caller_and_target(request, *FOLLOW_SCOPES, path_name="account_id")
    await actions.authorize_follow_request(ctx, me, requester)
    return await relationship_response(ctx, me.id, requester.id)


async def reject_request(request: Request) -> Response:
    ctx: Context = request.state.ctx
    me, requester = await caller_and_target(request, *FOLLOW_SCOPES, path_name="account_id")
    await actions.reject_follow_request(ctx, me, requester)
    return await relationship_response(ctx, me.id, requester.id)


routes = [
    Route("/api/v1/accounts/{id}/follow", follow, methods=["POST"]),
    Route("/api/v1/accounts/{id}/unfollow", unfollow, methods=["POST"]),
    Route("/api/v1/accounts/{id}/remove_from_followers", remove_from_followers, methods=["POST"]),
    Route("/api/v1/follow_requests", follow_requests, methods=["GET"]),
    Route("/api/v1/follow_requests/{account_id}/authorize", authorize_request, methods=["POST"]),
    Route("/api/v1/follow_requests/{account_id}/reject", reject_request, methods=["POST"]),
]
