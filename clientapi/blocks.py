"""Blocks and mutes: the caller's lists, and `block` / `unblock` (through the outbox actions)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clientapi.accounts import account_page
from clientapi.auth import require_auth
from clientapi.follows import caller_and_target, relationship_response
from outbox import actions
from storage.account_lists import blocks_query, mutes_query
from storage.context import Context


async def blocked_accounts(request: Request) -> Response:
    auth = await require_auth(request, "read:blocks")
    assert auth.account is not None
    return await account_page(request, blocks_query(auth.account.id))


async def muted_accounts(request: Request) -> Response:
    auth = await require_auth(request, "read:mutes")
    assert auth.account is not None
    return await account_page(request, mutes_query(auth.account.id))


async def block(request: Request) -> Response:
    ctx: Context = request.state.ctx
    me, target = await caller_and_target(request, "write:blocks")
    await actions.block(ctx, me, target)
    return await relationship_response(ctx, me.id, target.id)


async def unblock(request: Request) -> Response:
    ctx: Context = request.state.ctx
    me, target = await caller_and_target(request, "write:blocks")
    await actions.unblock(ctx, me, target)
    return await relationship_response(ctx, me.id, target.id)


routes = [
    Route("/api/v1/blocks", blocked_accounts, methods=["GET"]),
    Route("/api/v1/mutes", muted_accounts, methods=["GET"]),
    Route("/api/v1/accounts/{id}/block", block, methods=["POST"]),
    Route("/api/v1/accounts/{id}/unblock", unblock, methods=["POST"]),
]
