"""Plein's extension of the client API for the moderators of a working group (docs/GROUPS.md):

    GET    /api/v1/plein/groups/:id/moderators             the group's moderators (Account entities), public
    DELETE /api/v1/plein/groups/:id/statuses/:status_id    take a post out of the group      (write:statuses)
    POST   /api/v1/plein/groups/:id/bans/:account_id       ban an account from the group     (write:blocks)
    DELETE /api/v1/plein/groups/:id/bans/:account_id       lift the ban                      (write:blocks)
    GET    /api/v1/plein/groups/:id/join_requests          who waits to join a private group (read:follows)
    POST   /api/v1/plein/groups/:id/join_requests/:account_id/authorize   let them in        (write:follows)
    POST   /api/v1/plein/groups/:id/join_requests/:account_id/reject      turn them away     (write:follows)

`:id` is the group's account id; the acts take an optional `reason` (at most 1000 characters), sent with them
and audited. A moderator needs no staff role: the group's own moderators act, anyone
else gets 403 with `{"error": …}`. Each calls the same action as the CLI and the web page
(`outbox.actions.groups`, `outbox.actions.group_joins`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clientapi.account_lookup import account_from_path
from clientapi.auth import caller_account
from clientapi.entities.accounts import account_to_entity
from clientapi.errors import NotFound
from clientapi.params import parse_id, read_params
from outbox.actions.group_joins import answer_join_request, join_requests
from outbox.actions.groups import ban_from_group, remove_from_group, unban_from_group
from storage.context import Context
from storage.groups import is_group, moderators_of
from storage.models import Account


async def _local_group(ctx: Context, request: Request) -> Account:
    async with ctx.db.read() as session:
        group = await account_from_path(session, request)
    if not is_group(group) or group.domain is not None:
        raise NotFound()
    return group


async def moderators(request: Request) -> Response:
    """A local group's moderators, as public as its ActivityPub `attributedTo` collection."""
    ctx: Context = request.state.ctx
    group = await _local_group(ctx, request)
    async with ctx.db.read() as session:
        listed = await moderators_of(session, group.id)
    return JSONResponse([account_to_entity(account, ctx) for account in listed])


async def remove_status(request: Request) -> Response:
    """Take a post out of the group: `{"group_id", "status_id", "deleted"}` (deleted: it was written here,
    so it is gone; otherwise only the group's announce of it is)."""
    ctx: Context = request.state.ctx
    moderator = await caller_account(request, "write:statuses")
    group = await _local_group(ctx, request)
    status_id = parse_id(request.path_params["status_id"], "status_id")
    reason = await _reason(request)
    removed = await remove_from_group(ctx, group, moderator, status_id, reason=reason)
    return JSONResponse({"group_id": str(group.id), "status_id": str(removed.id), "deleted": removed.local})


async def _reason(request: Request) -> str:
    return (await read_params(request)).get_str("reason") or ""


async def _ban_target(request: Request) -> tuple[Context, Account, Account, Account]:
    ctx: Context = request.state.ctx
    moderator = await caller_account(request, "write:blocks")
    group = await _local_group(ctx, request)
    async with ctx.db.read() as session:
        target = await account_from_path(session, request, "account_id")
    return ctx, moderator, group, target


async def ban(request: Request) -> Response:
    """Ban an account from the group: `{"group_id", "account_id", "banned": true}`."""
    ctx, moderator, group, target = await _ban_target(request)
    await ban_from_group(ctx, group, moderator, target, reason=await _reason(request))
    return JSONResponse({"group_id": str(group.id), "account_id": str(target.id), "banned": True})


async def unban(request: Request) -> Response:
    """Lift a ban: `{"group_id", "account_id", "banned": false}`."""
    ctx, moderator, group, target = await _ban_target(request)
    await unban_from_group(ctx, group, moderator, target, reason=await _reason(request))
    return JSONResponse({"group_id": str(group.id), "account_id": str(target.id), "banned": False})


async def pending_joins(request: Request) -> Response:
    """Who waits to join the group (Account entities, oldest request first), for its moderators."""
    ctx: Context = request.state.ctx
    moderator = await caller_account(request, "read:follows")
    group = await _local_group(ctx, request)
    waiting = await join_requests(ctx, group, moderator)
    return JSONResponse([account_to_entity(account, ctx) for account in waiting])


async def _answer_join(request: Request, *, accept: bool) -> Response:
    ctx: Context = request.state.ctx
    moderator = await caller_account(request, "write:follows")
    group = await _local_group(ctx, request)
    async with ctx.db.read() as session:
        requester = await account_from_path(session, request, "account_id")
    await answer_join_request(ctx, group, moderator, requester, accept=accept)
    return JSONResponse({"group_id": str(group.id), "account_id": str(requester.id), "member": accept})


async def authorize_join(request: Request) -> Response:
    """Let a requester into the group: `{"group_id", "account_id", "member": true}`."""
    return await _answer_join(request, accept=True)


async def reject_join(request: Request) -> Response:
    """Turn a requester away: `{"group_id", "account_id", "member": false}`."""
    return await _answer_join(request, accept=False)


routes = [
    Route("/api/v1/plein/groups/{id}/moderators", moderators, methods=["GET"]),
    Route("/api/v1/plein/groups/{id}/statuses/{status_id}", remove_status, methods=["DELETE"]),
    Route("/api/v1/plein/groups/{id}/bans/{account_id}", ban, methods=["POST"]),
    Route("/api/v1/plein/groups/{id}/bans/{account_id}", unban, methods=["DELETE"]),
    Route("/api/v1/plein/groups/{id}/join_requests", pending_joins, methods=["GET"]),
    Route("/api/v1/plein/groups/{id}/join_requests/{account_id}/authorize", authorize_join, methods=["POST"]),
    Route("/api/v1/plein/groups/{id}/join_requests/{account_id}/reject", reject_join, methods=["POST"]),
]
