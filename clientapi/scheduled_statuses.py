"""`/api/v1/scheduled_statuses`: the caller's statuses waiting to be published — list (paged), read, move
(`scheduled_at`), cancel. Scheduling itself is `POST /api/v1/statuses` with `scheduled_at`."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clientapi.auth import require_auth
from clientapi.entities.scheduled_statuses import scheduled_to_entity
from clientapi.errors import NotFound, Unprocessable
from clientapi.pagination import Page, apply_page, in_display_order, link_headers
from clientapi.params import Params, parse_id, read_params
from clientapi.responses import api_response
from clientapi.status_maps import sends_variants, variant_drafts
from outbox.actions.review import approve_draft, edit_draft, return_draft
from outbox.actions.scheduled import DraftChange, cancel_scheduled, edit_scheduled, move_scheduled
from storage.acting import ACTING_STAFF
from storage.context import Context
from storage.models import Account, ScheduledStatus
from storage.scheduled_statuses import held_media, scheduled_of


def scheduled_at_of(params: Params) -> datetime | None:
    """`scheduled_at` as an aware UTC time (ISO 8601; without an offset it is UTC); None when absent."""
    value = params.get_str("scheduled_at")
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise Unprocessable("Validation failed: scheduled_at is not a date and time") from error
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _scheduled_id(request: Request) -> int:
    try:
        return parse_id(request.path_params["scheduled_id"], "id")
    except Unprocessable as error:
        raise NotFound() from error


async def _render(ctx: Context, account_id: int, scheduled_id: int) -> Response:
    async with ctx.db.read() as session:
        scheduled = await scheduled_of(session, account_id, scheduled_id)
        if scheduled is None:
            raise NotFound()
        media = (await held_media(session, [scheduled.id])).get(scheduled.id, [])
    return api_response(scheduled_to_entity(ctx, scheduled, media))


async def list_scheduled(request: Request) -> Response:
    auth = await require_auth(request, "read:statuses")
    assert auth.account is not None
    ctx: Context = request.state.ctx
    page = Page.from_params(await read_params(request))
    statement = select(ScheduledStatus).where(ScheduledStatus.account_id == auth.account.id)
    async with ctx.db.read() as session:
        rows = list((await session.execute(apply_page(statement, ScheduledStatus.id, page))).scalars())
        rows = in_display_order(rows, page)  # type: ignore[arg-type]
        media = await held_media(session, [row.id for row in rows])
    return api_response(
        [scheduled_to_entity(ctx, row, media.get(row.id, [])) for row in rows],
        headers=link_headers(request, [row.id for row in rows]),
    )


async def get_scheduled(request: Request) -> Response:
    auth = await require_auth(request, "read:statuses")
    assert auth.account is not None
    return await _render(request.state.ctx, auth.account.id, _scheduled_id(request))


DRAFT_FIELDS = ("status", "spoiler_text", "visibility", "language")


async def update_scheduled(request: Request) -> Response:
    """Mastodon's move (`scheduled_at`); and, a Plein extension, an edit in place of `status`,
    `spoiler_text`, `visibility`, `language` — of an organisation's draft in review by a publisher or the
    draft's author (docs/CLIENT_API.md), of another scheduled status by its account — and of its other
    languages with `status_map` / `spoiler_text_map`, which replace them as a status's edit does
    (docs/MULTILINGUAL.md)."""
    auth = await require_auth(request, "write:statuses")
    assert auth.account is not None
    params = await read_params(request)
    scheduled_at = scheduled_at_of(params)
    editing = any(
        params.get_str(name, max_length=None) is not None for name in DRAFT_FIELDS
    ) or sends_variants(params)
    if scheduled_at is None and not editing:
        raise Unprocessable("Validation failed: scheduled_at is missing")
    ctx: Context = request.state.ctx
    if editing:
        await _edit(ctx, auth.account, _scheduled_id(request), params)
    if scheduled_at is not None:
        await move_scheduled(ctx, auth.account, _scheduled_id(request), scheduled_at)
    return await _render(ctx, auth.account.id, _scheduled_id(request))


async def _edit(ctx: Context, account: Account, scheduled_id: int, params: Params) -> None:
    """A draft in review is edited under the review's rules, any other scheduled status by its account;
    fields not sent keep their value."""
    async with ctx.db.read() as session:
        current = await scheduled_of(session, account.id, scheduled_id)
    if current is None:
        raise NotFound()
    edit = edit_draft if current.review_state is not None else edit_scheduled
    await edit(
        ctx,
        account,
        ACTING_STAFF.get(),
        scheduled_id,
        DraftChange(
            text=params.get_str("status", max_length=None) or str(current.params.get("text") or ""),
            spoiler_text=_sent_or(params, "spoiler_text", current.params.get("spoiler_text")),
            visibility=params.get_str("visibility") or str(current.params.get("visibility") or "public"),
            language=params.get_language("language") or current.params.get("language"),  # type: ignore[arg-type]
            variants=variant_drafts(params) if sends_variants(params) else None,
        ),
    )


def _sent_or(params: Params, name: str, current: object) -> str:
    sent = params.get_str(name, max_length=None)
    return sent if sent is not None else str(current or "")


async def delete_scheduled(request: Request) -> Response:
    auth = await require_auth(request, "write:statuses")
    assert auth.account is not None
    await cancel_scheduled(request.state.ctx, auth.account, _scheduled_id(request))
    return api_response({})


async def _reviewer(request: Request) -> tuple[Context, Account, int]:
    auth = await require_auth(request, "write:statuses")
    assert auth.account is not None
    return request.state.ctx, auth.account, _scheduled_id(request)


async def approve_draft_route(request: Request) -> Response:
    """Plein extension: a publisher lets an organisation's draft out, now or at `scheduled_at`."""
    ctx, organisation, draft_id = await _reviewer(request)
    at = scheduled_at_of(await read_params(request))
    await approve_draft(ctx, organisation, ACTING_STAFF.get(), draft_id, at=at)
    return await _render(ctx, organisation.id, draft_id)


async def return_draft_route(request: Request) -> Response:
    """Plein extension: a publisher returns a draft to its author with a `comment`."""
    ctx, organisation, draft_id = await _reviewer(request)
    comment = (await read_params(request)).get_str("comment") or ""
    await return_draft(ctx, organisation, ACTING_STAFF.get(), draft_id, comment)
    return await _render(ctx, organisation.id, draft_id)


routes = [
    Route("/api/v1/scheduled_statuses/{scheduled_id}/approve", approve_draft_route, methods=["POST"]),
    Route("/api/v1/scheduled_statuses/{scheduled_id}/return", return_draft_route, methods=["POST"]),
    Route("/api/v1/scheduled_statuses", list_scheduled, methods=["GET"]),
    Route("/api/v1/scheduled_statuses/{scheduled_id}", get_scheduled, methods=["GET"]),
    Route("/api/v1/scheduled_statuses/{scheduled_id}", update_scheduled, methods=["PUT"]),
    Route("/api/v1/scheduled_statuses/{scheduled_id}", delete_scheduled, methods=["DELETE"]),
]
