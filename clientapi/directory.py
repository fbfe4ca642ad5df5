"""`/api/v1/directory`: the profile directory (discoverable local and known remote accounts), paged by
`offset` and `limit`, ordered by recent activity (`active`) or by creation (`new`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clientapi.auth import optional_auth
from clientapi.entities.accounts import account_to_entity
from clientapi.errors import Unprocessable, ValidationCode
from clientapi.pagination import MAX_OFFSET
from clientapi.params import read_params
from clientapi.responses import api_response
from storage.context import Context
from storage.directory import directory_query

ORDERS = ("active", "new")
DEFAULT_LIMIT = 40
MAX_LIMIT = 80


async def directory(request: Request) -> Response:
    # Public, as in Mastodon; a token's holder does not see the accounts it blocks or mutes.
    auth = await optional_auth(request, "read:accounts")
    ctx: Context = request.state.ctx
    params = await read_params(request)
    order = params.get_str("order") or "active"
    if order not in ORDERS:
        raise Unprocessable(
            "Validation failed: order must be active or new", field="order", code=ValidationCode.INCLUSION
        )
    limit = params.get_int("limit", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT, clamp=True) or DEFAULT_LIMIT
    offset = params.get_int("offset", 0, minimum=0, maximum=MAX_OFFSET) or 0
    statement = directory_query(
        auth.account_id if auth is not None else None,
        local_only=bool(params.get_bool("local", False)),
        order=order,  # type: ignore[arg-type]  # one of ORDERS, checked above
    )
    async with ctx.db.read() as session:
        accounts = (await session.execute(statement.offset(offset).limit(limit))).scalars().all()
    return api_response([account_to_entity(account, ctx) for account in accounts])


routes = [Route("/api/v1/directory", directory, methods=["GET"])]
