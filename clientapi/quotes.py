"""Quote posts in the client API (Mastodon 4.5): the quotes of a status, revoking one, and changing who may
quote a status. Quoting itself is `quoted_status_id` on `POST /api/v1/statuses` (`clientapi.statuses`)."""

from __future__ import annotations

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clientapi.auth import require_auth
from clientapi.entities.statuses import status_to_entity, statuses_to_entities
from clientapi.errors import NotFound, Unprocessable
from clientapi.pagination import Page, apply_page, in_display_order, link_headers
from clientapi.params import parse_id, read_params
from clientapi.responses import api_response
from outbox import actions
from storage.context import Context
from storage.models import Quote, Status
from storage.statuses import can_see, status_by_id


def _path_id(request: Request, name: str) -> int:
    try:
        return parse_id(request.path_params[name], "id")
    except Unprocessable as error:
        raise NotFound() from error


async def status_quotes(request: Request) -> Response:
    """GET /api/v1/statuses/:id/quotes: the accepted quotes of one of the caller's statuses, newest first
    (as in Mastodon, only the quoted status's author may list them)."""
    auth = await require_auth(request, "read:statuses")
    assert auth.account is not None
    ctx: Context = request.state.ctx
    page = Page.from_params(await read_params(request), max_limit=40)
    async with ctx.db.read() as session:
        status = await status_by_id(session, _path_id(request, "status_id"))
        if status is None or status.deleted_at is not None or status.account_id != auth.account.id:
            raise NotFound()
        query = (
            select(Quote.id, Status)
            .join(Status, Status.id == Quote.status_id)
            .where(
                Quote.quoted_status_id == status.id,
                Quote.state == "accepted",
                Status.deleted_at.is_(None),
            )
        )
        rows = in_display_order((await session.execute(apply_page(query, Quote.id, page))).all(), page)
        visible = [
            (quote_id, quoting)
            for quote_id, quoting in rows
            if await can_see(session, auth.account.id, quoting)
        ]
        entities = await statuses_to_entities(session, ctx, [s for _, s in visible], auth.account.id)
    return api_response(entities, headers=link_headers(request, [quote_id for quote_id, _ in rows]))


async def revoke(request: Request) -> Response:
    """POST /api/v1/statuses/:id/quotes/:quoting_status_id/revoke: the quoting Status, quote revoked."""
    auth = await require_auth(request, "write:statuses")
    assert auth.account is not None
    ctx: Context = request.state.ctx
    quoting = await actions.revoke_quote(
        ctx,
        auth.account,
        _path_id(request, "status_id"),
        _path_id(request, "quoting_status_id"),
    )
    async with ctx.db.read() as session:
        return api_response(await status_to_entity(session, ctx, quoting, auth.account.id))


async def interaction_policy(request: Request) -> Response:
    """PUT /api/v1/statuses/:id/interaction_policy with `quote_approval_policy`: the Status."""
    auth = await require_auth(request, "write:statuses")
    assert auth.account is not None
    ctx: Context = request.state.ctx
    params = await read_params(request)
    policy = params.get_str("quote_approval_policy")
    if policy is None:
        raise Unprocessable(
            "Validation failed: quote_approval_policy is missing", field="quote_approval_policy"
        )
    status = await actions.set_quote_policy(ctx, auth.account, _path_id(request, "status_id"), policy)
    async with ctx.db.read() as session:
        return api_response(await status_to_entity(session, ctx, status, auth.account.id))


routes = [
    Route("/api/v1/statuses/{status_id}/quotes", status_quotes, methods=["GET"]),
    Route("/api/v1/statuses/{status_id}/quotes/{quoting_status_id}/revoke", revoke, methods=["POST"]),
    Route("/api/v1/statuses/{status_id}/interaction_policy", interaction_policy, methods=["PUT"]),
]
