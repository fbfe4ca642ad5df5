"""Trends: `/api/v1/trends/tags` (and its old name `/api/v1/trends`) and `/api/v1/trends/statuses`, read by
anyone (as Mastodon), paged by `offset`. What trends and why is `storage.trends`; moderators review it with
`plein trends …`. Links do not trend: Plein makes no preview cards yet, so `/trends/links` answers `[]`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clientapi.auth import optional_auth, viewer_account
from clientapi.entities.statuses import statuses_to_entities
from clientapi.entities.tags import tags_to_entities
from clientapi.params import read_params
from clientapi.responses import api_response
from storage.context import Context
from storage.trends import tag_use_counts, trending_statuses
from storage.types import utcnow

TAGS_LIMIT, MAX_TAGS_LIMIT = 10, 20  # Mastodon's
STATUSES_LIMIT, MAX_STATUSES_LIMIT = 20, 40


async def _limit_and_offset(request: Request, default: int, maximum: int) -> tuple[int, int]:
    params = await read_params(request)
    limit = params.get_int("limit", default, minimum=1, maximum=maximum, clamp=True) or default
    offset = params.get_int("offset", 0, minimum=0) or 0
    return limit, offset


async def tags(request: Request) -> Response:
    ctx: Context = request.state.ctx
    viewer = viewer_account(await optional_auth(request))
    limit, offset = await _limit_and_offset(request, TAGS_LIMIT, MAX_TAGS_LIMIT)
    async with ctx.db.read() as session:
        counted = await tag_use_counts(session, now=utcnow(), reviewed_only=True, limit=limit, offset=offset)
        entities = await tags_to_entities(
            session, ctx, [row.tag for row in counted], viewer.id if viewer else None
        )
    return api_response(entities)


async def statuses(request: Request) -> Response:
    ctx: Context = request.state.ctx
    viewer = viewer_account(await optional_auth(request))
    viewer_id = viewer.id if viewer else None
    limit, offset = await _limit_and_offset(request, STATUSES_LIMIT, MAX_STATUSES_LIMIT)
    async with ctx.db.read() as session:
        found = await trending_statuses(
            session, now=utcnow(), viewer_id=viewer_id, limit=limit, offset=offset
        )
        entities = await statuses_to_entities(session, ctx, found, viewer_id, context="public")
    return api_response(entities)


routes = [
    Route("/api/v1/trends", tags, methods=["GET"]),
    Route("/api/v1/trends/tags", tags, methods=["GET"]),
    Route("/api/v1/trends/statuses", statuses, methods=["GET"]),
]
