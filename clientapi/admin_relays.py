"""Relays in the admin API, a Plein extension (Mastodon manages relays in its web admin only):
`GET/POST /api/v1/admin/relays`, `DELETE /api/v1/admin/relays/:id`. Admins only, with `admin:read` /
`admin:write`; the actions are the CLI's (`outbox.actions.relays`), audited as done by `@username`."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clientapi.admin_access import ADMIN_ROLES, require_staff
from clientapi.auth import AuthContext
from clientapi.entities.common import format_time
from clientapi.errors import NotFound
from clientapi.params import parse_id, read_params
from clientapi.responses import api_response
from outbox import actions
from storage.context import Context
from storage.models import Relay


async def _admin(request: Request, scope: str) -> AuthContext:
    return await require_staff(request, scope, roles=ADMIN_ROLES)


def relay_to_entity(relay: Relay) -> dict[str, Any]:
    """A relay as the admin API shows it."""
    return {
        "id": str(relay.id),
        "inbox_url": relay.inbox_url,
        "state": relay.state,
        "actor_uri": relay.actor_uri,
        "created_at": format_time(relay.created_at),
        "state_changed_at": format_time(relay.state_changed_at),
        "last_received_at": format_time(relay.last_received_at) if relay.last_received_at else None,
        "received_count": relay.received_count,
        "sent_count": relay.sent_count,
    }


async def list_relays(request: Request) -> Response:
    ctx: Context = request.state.ctx
    await _admin(request, "admin:read")
    return api_response([relay_to_entity(relay) for relay in await actions.list_relays(ctx)])


async def add_relay(request: Request) -> Response:
    ctx: Context = request.state.ctx
    auth = await _admin(request, "admin:write")
    assert auth.account is not None
    inbox_url = (await read_params(request)).require_str("inbox_url")
    relay = await actions.add_relay(ctx, inbox_url, actor=f"@{auth.account.username}")
    return api_response(relay_to_entity(relay))


async def remove_relay(request: Request) -> Response:
    ctx: Context = request.state.ctx
    auth = await _admin(request, "admin:write")
    assert auth.account is not None
    relay_id = parse_id(request.path_params["relay_id"])
    relays = {relay.id: relay for relay in await actions.list_relays(ctx)}
    if relay_id not in relays:
        raise NotFound("Record not found")
    await actions.remove_relay(ctx, relays[relay_id].inbox_url, actor=f"@{auth.account.username}")
    return api_response({})


routes = [
    Route("/api/v1/admin/relays", list_relays, methods=["GET"]),
    Route("/api/v1/admin/relays", add_relay, methods=["POST"]),
    Route("/api/v1/admin/relays/{relay_id}", remove_relay, methods=["DELETE"]),
]
