"""Filtering notifications from strangers: the policy (`/api/v2/notifications/policy`, and v1's boolean
reading of it at `/api/v1/notifications/policy`) and the requests the filtered mentions wait in
(`/api/v1/notifications/requests`: list, show, accept, dismiss, one or several at once, and `merged`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clientapi.auth import require_auth
from clientapi.entities.notification_groups import (
    policy_to_entity,
    requests_to_entities,
    v1_policy_to_entity,
)
from clientapi.errors import NotFound, Unprocessable, ValidationCode
from clientapi.pagination import Page, apply_page, in_display_order, link_headers
from clientapi.params import Params, parse_id, read_params
from clientapi.responses import api_response
from storage.context import Context
from storage.models import NotificationRequest
from storage.notification_policy import POLICY_ACTIONS, POLICY_RULES, Verdict, read_policy, update_policy
from storage.notification_requests import (
    accept_requests,
    dismiss_requests,
    held_counts,
    pending_summary,
    request_for,
    requests_by_ids,
    requests_query,
)

PolicyRenderer = Callable[[dict[str, Verdict], tuple[int, int]], dict[str, Any]]
# v1's booleans and the v2 rules they stand for (v1 has no rule for limited accounts).
V1_RULES = {
    "filter_not_following": "for_not_following",
    "filter_not_followers": "for_not_followers",
    "filter_new_accounts": "for_new_accounts",
    "filter_private_mentions": "for_private_mentions",
}


def _changes(params: Params) -> dict[str, Verdict]:
    changes: dict[str, Verdict] = {}
    for rule in POLICY_RULES:
        action = params.get_str(rule)
        if action is None:
            continue
        if action not in POLICY_ACTIONS:
            raise Unprocessable(
                f"Validation failed: {rule} must be one of {', '.join(POLICY_ACTIONS)}",
                field=rule,
                code=ValidationCode.INCLUSION,
            )
        changes[rule] = action  # type: ignore[assignment]  # checked against POLICY_ACTIONS above
    return changes


async def get_policy(request: Request) -> Response:
    auth = await require_auth(request, "read:notifications")
    assert auth.account is not None
    async with request.state.ctx.db.read() as session:
        policy = await read_policy(session, auth.account.id)
        summary = await pending_summary(session, auth.account.id)
    render = v1_policy_to_entity if request.url.path.startswith("/api/v1/") else policy_to_entity
    return api_response(render(policy, summary))


async def update_v2_policy(request: Request) -> Response:
    auth = await require_auth(request, "write:notifications")
    assert auth.account is not None
    return await _save_policy(
        request, auth.account.id, _changes(await read_params(request)), policy_to_entity
    )


async def update_v1_policy(request: Request) -> Response:
    auth = await require_auth(request, "write:notifications")
    assert auth.account is not None
    params = await read_params(request)
    changes: dict[str, Verdict] = {}
    for name, rule in V1_RULES.items():
        value = params.get_bool(name)
        if value is not None:
            changes[rule] = "filter" if value else "accept"
    return await _save_policy(request, auth.account.id, changes, v1_policy_to_entity)


async def _save_policy(
    request: Request, account_id: int, changes: dict[str, Verdict], render: PolicyRenderer
) -> Response:
    async with request.state.ctx.db.transaction() as session:
        policy = await update_policy(session, account_id, changes)
        summary = await pending_summary(session, account_id)
    return api_response(render(policy, summary))


async def list_requests(request: Request) -> Response:
    auth = await require_auth(request, "read:notifications")
    assert auth.account is not None
    ctx: Context = request.state.ctx
    page = Page.from_params(await read_params(request), default_limit=40, max_limit=80)
    async with ctx.db.read() as session:
        statement = apply_page(requests_query(auth.account.id), NotificationRequest.id, page)
        rows = in_display_order((await session.execute(statement)).scalars().all(), page)
        entities = await requests_to_entities(
            session, ctx, rows, await held_counts(session, rows), auth.account.id
        )
    return api_response(entities, headers=link_headers(request, [row.id for row in rows]))


def _request_id(request: Request) -> int:
    try:
        return parse_id(request.path_params["request_id"], "id")
    except Unprocessable as error:
        raise NotFound() from error


async def get_request(request: Request) -> Response:
    auth = await require_auth(request, "read:notifications", "write:notifications")
    assert auth.account is not None
    ctx: Context = request.state.ctx
    async with ctx.db.read() as session:
        row = await request_for(session, auth.account.id, _request_id(request))
        if row is None:
            raise NotFound()
        [entity] = await requests_to_entities(
            session, ctx, [row], await held_counts(session, [row]), auth.account.id
        )
    return api_response(entity)


async def _decide_one(request: Request, *, accept: bool) -> Response:
    auth = await require_auth(request, "write:notifications")
    assert auth.account is not None
    async with request.state.ctx.db.transaction() as session:
        row = await request_for(session, auth.account.id, _request_id(request))
        if row is None:
            raise NotFound()
        await (accept_requests if accept else dismiss_requests)(session, [row])
    return api_response({})


async def _decide_many(request: Request, *, accept: bool) -> Response:
    auth = await require_auth(request, "write:notifications")
    assert auth.account is not None
    params = await read_params(request)
    ids = [parse_id(value, "id") for value in params.get_list("id")]
    async with request.state.ctx.db.transaction() as session:
        rows = await requests_by_ids(session, auth.account.id, ids)
        await (accept_requests if accept else dismiss_requests)(session, rows)
    return api_response({})


async def accept_request(request: Request) -> Response:
    return await _decide_one(request, accept=True)


async def dismiss_request(request: Request) -> Response:
    return await _decide_one(request, accept=False)


async def accept_many(request: Request) -> Response:
    return await _decide_many(request, accept=True)


async def dismiss_many(request: Request) -> Response:
    return await _decide_many(request, accept=False)


async def merged(request: Request) -> Response:
    """Accepting merges the notifications in the accepting transaction, so they are always merged."""
    await require_auth(request, "read:notifications")
    return api_response({"merged": True})


routes = [
    Route("/api/v2/notifications/policy", get_policy, methods=["GET"]),
    Route("/api/v2/notifications/policy", update_v2_policy, methods=["PATCH"]),
    Route("/api/v1/notifications/policy", get_policy, methods=["GET"]),
    Route("/api/v1/notifications/policy", update_v1_policy, methods=["PUT", "PATCH"]),
    Route("/api/v1/notifications/requests", list_requests, methods=["GET"]),
    Route("/api/v1/notifications/requests/merged", merged, methods=["GET"]),
    Route("/api/v1/notifications/requests/accept", accept_many, methods=["POST"]),
    Route("/api/v1/notifications/requests/dismiss", dismiss_many, methods=["POST"]),
    Route("/api/v1/notifications/requests/{request_id}", get_request, methods=["GET"]),
    Route("/api/v1/notifications/requests/{request_id}/accept", accept_request, methods=["POST"]),
    Route("/api/v1/notifications/requests/{request_id}/dismiss", dismiss_request, methods=["POST"]),
]
