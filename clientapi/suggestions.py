"""Follow suggestions: `/api/v1/suggestions` (accounts), `/api/v2/suggestions` (with their sources) and
dismissing one (`DELETE /api/v1/suggestions/:account_id`). Where they come from is `storage.suggestions`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clientapi.accounts import caller
from clientapi.auth import require_auth
from clientapi.entities.accounts import account_to_entity
from clientapi.errors import NotFound
from clientapi.params import read_params
from clientapi.responses import api_response
from storage.context import Context
from storage.ids import parse_id
from storage.models import Account
from storage.suggestions import Suggestion, dismiss_suggestion, suggestions_for

LIMIT, MAX_LIMIT = 40, 80  # Mastodon's


async def _suggestions(request: Request) -> tuple[Context, list[Suggestion]]:
    ctx: Context = request.state.ctx
    _, me = caller(await require_auth(request, "read"))
    params = await read_params(request)
    limit = params.get_int("limit", LIMIT, minimum=1, maximum=MAX_LIMIT, clamp=True) or LIMIT
    async with ctx.db.read() as session:
        return ctx, await suggestions_for(session, me.id, limit=limit)


async def suggestions_v1(request: Request) -> Response:
    ctx, found = await _suggestions(request)
    return api_response([account_to_entity(suggestion.account, ctx) for suggestion in found])


async def suggestions_v2(request: Request) -> Response:
    ctx, found = await _suggestions(request)
    return api_response(
        [
            {
                # `source` is the single reason Mastodon sent before 4.3; `sources` replaces it.
                "source": "staff" if "featured" in suggestion.sources else "global",
                "sources": suggestion.sources,
                "account": account_to_entity(suggestion.account, ctx),
            }
            for suggestion in found
        ]
    )


async def dismiss(request: Request) -> Response:
    ctx: Context = request.state.ctx
    _, me = caller(await require_auth(request, "read"))
    target_id = parse_id(request.path_params["account_id"])
    async with ctx.db.transaction() as session:
        if target_id is None or await session.get(Account, target_id) is None:
            raise NotFound()
        await dismiss_suggestion(session, me.id, target_id)
    return api_response({})


routes = [
    Route("/api/v1/suggestions", suggestions_v1, methods=["GET"]),
    Route("/api/v2/suggestions", suggestions_v2, methods=["GET"]),
    Route("/api/v1/suggestions/{account_id}", dismiss, methods=["DELETE"]),
]
