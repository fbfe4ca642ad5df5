"""`/api/v1/notifications` (list, get, dismiss, clear) and `/api/v1/markers` (read positions)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clientapi.auth import require_auth
from clientapi.entities.notifications import marker_to_entity, notifications_to_entities
from clientapi.errors import NotFound, Unprocessable
from clientapi.pagination import Page, apply_page, in_display_order, link_headers
from clientapi.params import parse_id, read_params
from clientapi.responses import api_response
from storage.context import Context
from storage.models import Notification
from storage.notifications import (
    MARKER_TIMELINES,
    clear_notifications,
    dismiss_notification,
    markers_of,
    notification_for,
    notifications_query,
    set_marker,
)


def _notification_id(request: Request) -> int:
    try:
        return parse_id(request.path_params["notification_id"], "id")
    except Unprocessable as error:
        raise NotFound() from error


async def list_notifications(request: Request) -> Response:
    auth = await require_auth(request, "read:notifications")
    assert auth.account is not None
    ctx: Context = request.state.ctx
    params = await read_params(request)
    page = Page.from_params(params, max_limit=80)
    query = notifications_query(
        auth.account.id,
        types=params.get_str_list("types"),
        exclude_types=params.get_str_list("exclude_types"),
        from_account_id=params.get_id("account_id"),
        include_filtered=bool(params.get_bool("include_filtered", False)),
    )
    async with ctx.db.read() as session:
        rows = in_display_order(
            (await session.execute(apply_page(query, Notification.id, page))).scalars().all(), page
        )
        entities = await notifications_to_entities(session, ctx, rows, auth.account.id)
    return api_response(entities, headers=link_headers(request, [row.id for row in rows]))


async def get_notification(request: Request) -> Response:
    auth = await require_auth(request, "read:notifications")
    assert auth.account is not None
    ctx: Context = request.state.ctx
    async with ctx.db.read() as session:
        notification = await notification_for(session, auth.account.id, _notification_id(request))
        entities = await notifications_to_entities(
            session, ctx, [notification] if notification else [], auth.account.id
        )
    if not entities:
        raise NotFound()
    return api_response(entities[0])


async def dismiss(request: Request) -> Response:
    auth = await require_auth(request, "write:notifications")
    assert auth.account is not None
    async with request.state.ctx.db.transaction() as session:
        if not await dismiss_notification(session, auth.account.id, _notification_id(request)):
            raise NotFound()
    return api_response({})


async def clear(request: Request) -> Response:
    auth = await require_auth(request, "write:notifications")
    assert auth.account is not None
    async with request.state.ctx.db.transaction() as session:
        await clear_notifications(session, auth.account.id)
    return api_response({})


async def get_markers(request: Request) -> Response:
    auth = await require_auth(request, "read:statuses")
    assert auth.account is not None
    params = await read_params(request)
    wanted = params.get_str_list("timeline") or list(MARKER_TIMELINES)
    async with request.state.ctx.db.read() as session:
        markers = await markers_of(session, auth.account.id, wanted)
    return api_response({marker.timeline: marker_to_entity(marker) for marker in markers})


async def save_markers(request: Request) -> Response:
    auth = await require_auth(request, "write:statuses")
    assert auth.account is not None
    params = await read_params(request)
    saved = {}
    async with request.state.ctx.db.transaction() as session:
        for timeline in MARKER_TIMELINES:
            position = params.nested(timeline).get_str("last_read_id") if timeline in params else None
            if position:
                parse_id(position, f"{timeline}[last_read_id]")
                saved[timeline] = marker_to_entity(
                    await set_marker(session, auth.account.id, timeline, position)
                )
    return api_response(saved)


routes = [
    Route("/api/v1/notifications", list_notifications, methods=["GET"]),
    Route("/api/v1/notifications/clear", clear, methods=["POST"]),
    Route("/api/v1/notifications/{notification_id}", get_notification, methods=["GET"]),
    Route("/api/v1/notifications/{notification_id}/dismiss", dismiss, methods=["POST"]),
    Route("/api/v1/markers", get_markers, methods=["GET"]),
    Route("/api/v1/markers", save_markers, methods=["POST"]),
]
