"""Trends: `/api/v1/trends/tags` (and its old name `/api/v1/trends`), `/api/v1/trends/statuses` and
`/api/v1/trends/links`, read by anyone (as Mastodon), paged by `offset`; and `/api/v1/timelines/link?url=`,
the public statuses sharing a trending link (Mastodon 4.3). What trends and why is `storage.trends` and
`storage.link_trends`; moderators review it with `plein trends …`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clientapi.auth import optional_auth, viewer_account
from clientapi.entities.cards import card_to_entity
from clientapi.entities.statuses import statuses_to_entities
from clientapi.entities.tags import history_to_entity, tags_to_entities
from clientapi.errors import NotFound, Unprocessable, ValidationCode
from clientapi.params import read_params
from clientapi.responses import api_response
from clientapi.timelines import page_response
from storage.context import Context
from storage.link_trends import allowed_card, card_histories, link_query, link_use_counts
from storage.trends import tag_use_counts, trending_statuses
from storage.types import utcnow

TAGS_LIMIT, MAX_TAGS_LIMIT = 10, 20  # Mastodon's
STATUSES_LIMIT, MAX_STATUSES_LIMIT = 20, 40
LINKS_LIMIT, MAX_LINKS_LIMIT = 10, 20


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


async def links(request: Request) -> Response:
    ctx: Context = request.state.ctx
    await optional_auth(request)
    limit, offset = await _limit_and_offset(request, LINKS_LIMIT, MAX_LINKS_LIMIT)
    now = utcnow()
    async with ctx.db.read() as session:
        counted = await link_use_counts(session, now=now, reviewed_only=True, limit=limit, offset=offset)
        histories = await card_histories(session, [row.card.id for row in counted], now=now)
    # A trending link is shown as the page describes itself; its credited author is not part of a Trends::Link.
    return api_response(
        [
            {
                **card_to_entity(row.card, ctx.base_url, None),
                "history": history_to_entity(histories[row.card.id]),
            }
            for row in counted
        ]
    )


async def link_timeline(request: Request) -> Response:
    """Statuses sharing `url`, when its card is allowed to trend (404 otherwise, as Mastodon)."""
    ctx: Context = request.state.ctx
    viewer = viewer_account(await optional_auth(request, "read:statuses"))
    url = (await read_params(request)).get_str("url")
    if not url:
        raise Unprocessable("Validation failed: url is required", field="url", code=ValidationCode.BLANK)
    async with ctx.db.read() as session:
        card = await allowed_card(session, url)
    if card is None:
        raise NotFound("Record not found")
    viewer_id = viewer.id if viewer else None
    return await page_response(request, link_query(card.id, viewer_id), viewer_id, context="public")


routes = [
    Route("/api/v1/trends/links", links, methods=["GET"]),
    Route("/api/v1/timelines/link", link_timeline, methods=["GET"]),
    Route("/api/v1/trends", tags, methods=["GET"]),
    Route("/api/v1/trends/tags", tags, methods=["GET"]),
    Route("/api/v1/trends/statuses", statuses, methods=["GET"]),
]
