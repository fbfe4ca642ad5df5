"""What every filter endpoint (v2 and v1) does around its own work: the caller and its scope, the record
named in the path (another account's is a 404, as a missing one), showing and deleting such a record, and
telling the caller's streams once a change has committed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from clientapi.auth import require_auth
from clientapi.errors import NotFound
from clientapi.responses import api_response
from storage.context import Context
from storage.filters import filters_changed
from storage.ids import parse_id as path_id

# Finds a record by (session, owner account id, record id), None when the owner has no such record.
OwnedFinder = Callable[[AsyncSession, int, int], Awaitable[Any]]


async def caller_id(request: Request, scope: str) -> int:
    """The calling account's id; its token must hold `scope` and act for a user."""
    auth = await require_auth(request, scope)
    assert auth.account is not None  # require_auth demands a user token
    return auth.account.id


async def own(
    session: AsyncSession, request: Request, owner_id: int, find: OwnedFinder, name: str = "id"
) -> Any:
    """The caller's record whose id is the path parameter `name`; 404 when it is not an id, is missing or
    is another account's."""
    record_id = path_id(request.path_params.get(name))
    found = await find(session, owner_id, record_id) if record_id is not None else None
    if found is None:
        raise NotFound()
    return found


async def show_own(
    request: Request, find: OwnedFinder, to_entity: Callable[[Any], dict[str, Any]]
) -> Response:
    """Answer the caller's record named in the path as its entity."""
    ctx: Context = request.state.ctx
    owner_id = await caller_id(request, "read:filters")
    async with ctx.db.read() as session:
        return api_response(to_entity(await own(session, request, owner_id, find)))


async def delete_own(request: Request, find: OwnedFinder) -> Response:
    """Delete the caller's record named in the path (what hangs from it goes by ON DELETE CASCADE)."""
    ctx: Context = request.state.ctx
    owner_id = await caller_id(request, "write:filters")
    async with ctx.db.transaction() as session:
        await session.delete(await own(session, request, owner_id, find))
    publish_change(request, owner_id)
    return api_response({})


def publish_change(request: Request, owner_id: int) -> None:
    """Tell the owner's open streams that its filters changed (call after the change committed)."""
    ctx: Context = request.state.ctx
    ctx.bus.publish(filters_changed(owner_id))
