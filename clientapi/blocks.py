"""Blocks and mutes: the caller's lists, `block` / `unblock` (through the outbox actions) and `mute` /
`unmute` (local only: a mute never federates)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clientapi.accounts import account_page
from clientapi.auth import require_auth
from clientapi.entities.common import format_time
from clientapi.errors import Unprocessable
from clientapi.follows import caller_and_target, relationship_response
from clientapi.params import read_params
from outbox import actions
from storage import mutes
from storage.account_lists import blocks_query, mutes_query
from storage.context import Context

MAX_MUTE_SECONDS = (
    10 * 365 * 24 * 3600
)  # beyond any calendar a client offers; keeps the end date representable


async def blocked_accounts(request: Request) -> Response:
    auth = await require_auth(request, "read:blocks")
    assert auth.account is not None
    return await account_page(request, blocks_query(auth.account.id))


def _mute_end(row: Any) -> dict[str, Any]:
    expires_at = row[2]
    return {"mute_expires_at": format_time(expires_at) if expires_at is not None else None}


async def muted_accounts(request: Request) -> Response:
    auth = await require_auth(request, "read:mutes")
    assert auth.account is not None
    return await account_page(request, mutes_query(auth.account.id), extra_fields=_mute_end)


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


async def mute(request: Request) -> Response:
    """Mute an account: `notifications` (default true) hides its notifications too; `duration` in seconds
    (0 or absent: until unmuted)."""
    ctx: Context = request.state.ctx
    me, target = await caller_and_target(request, "write:mutes")
    params = await read_params(request)
    notifications = bool(params.get_bool("notifications", True))
    duration = params.get_int("duration", 0, minimum=0, maximum=MAX_MUTE_SECONDS) or 0
    if me.id == target.id:
        raise Unprocessable("Validation failed: you cannot mute yourself", field="account_id")
    async with ctx.db.transaction() as session:
        await mutes.mute(session, me.id, target.id, notifications=notifications, duration_seconds=duration)
    return await relationship_response(ctx, me.id, target.id)


async def unmute(request: Request) -> Response:
    ctx: Context = request.state.ctx
    me, target = await caller_and_target(request, "write:mutes")
    async with ctx.db.transaction() as session:
        await mutes.unmute(session, me.id, target.id)
    return await relationship_response(ctx, me.id, target.id)


routes = [
    Route("/api/v1/blocks", blocked_accounts, methods=["GET"]),
    Route("/api/v1/mutes", muted_accounts, methods=["GET"]),
    Route("/api/v1/accounts/{id}/block", block, methods=["POST"]),
    Route("/api/v1/accounts/{id}/unblock", unblock, methods=["POST"]),
    Route("/api/v1/accounts/{id}/mute", mute, methods=["POST"]),
    Route("/api/v1/accounts/{id}/unmute", unmute, methods=["POST"]),
]
