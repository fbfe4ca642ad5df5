"""`/api/v1/statuses`: post, read, edit and delete statuses, their thread, and the caller's interactions
(favourite, boost, bookmark). Writes go through `outbox.actions`; bookmarks are private and written here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from apub.languages import accepted_language_tags
from clientapi.auth import optional_auth, require_auth, viewer_account
from clientapi.entities.accounts import account_to_entity
from clientapi.entities.media import media_to_entity
from clientapi.entities.notifications import status_edits_to_entities, status_source_to_entity
from clientapi.entities.scheduled_statuses import scheduled_to_entity
from clientapi.entities.statuses import status_to_entity, statuses_to_entities
from clientapi.errors import NotFound, Unprocessable, ValidationCode
from clientapi.pagination import Page, apply_page, in_display_order, link_headers
from clientapi.params import Params, parse_id, parse_id_list, read_params
from clientapi.responses import api_response
from clientapi.scheduled_statuses import scheduled_at_of
from clientapi.status_maps import variant_drafts
from outbox import actions
from outbox.actions.review import submit_for_review
from outbox.actions.scheduled import Draft, draft_arguments, needs_review, schedule_status
from outbox.actions.status_languages import VariantDraft
from storage.acting import ACTING_STAFF
from storage.context import Context
from storage.conversation_mutes import mute_conversation, unmute_conversation
from storage.custom_emojis import emojis_in
from storage.models import Account, Favourite, MediaAttachment, Status, StatusEdit
from storage.polls import PollRequest
from storage.scheduled_statuses import held_media
from storage.status_variants import variants_of
from storage.statuses import can_see, status_by_id
from storage.timelines import (
    add_bookmark,
    ancestor_statuses,
    descendant_statuses,
    favourited_by_query,
    reblogged_by_query,
    remove_bookmark,
)
from storage.types import utcnow
from storage.urls import LocalUrls

VISIBILITIES = ("public", "unlisted", "private", "direct")
MAX_IDEMPOTENCY_KEY = 255


def _ctx(request: Request) -> Context:
    return request.state.ctx  # type: ignore[no-any-return]


def _status_id(request: Request) -> int:
    try:
        return parse_id(request.path_params["status_id"], "id")
    except Unprocessable as error:
        raise NotFound() from error


async def _visible_status(session: AsyncSession, status_id: int, viewer_id: int | None) -> Status:
    """The status if the viewer may see it; 404 otherwise (never 403: existence is not revealed)."""
    status = await status_by_id(session, status_id)
    if status is None or not await can_see(session, viewer_id, status):
        raise NotFound()
    return status


def _accepted(request: Request) -> list[str]:
    return accepted_language_tags(request.headers.get("accept-language"))


async def _render(request: Request, status: Status, viewer_id: int | None) -> dict[str, Any]:
    ctx = _ctx(request)
    async with ctx.db.read() as session:
        return await status_to_entity(session, ctx, status, viewer_id, accepted_languages=_accepted(request))


def _media_ids(params: Params) -> list[int]:
    return [parse_id(value, "media_ids") for value in params.get_str_list("media_ids")]


def poll_request(params: Params) -> PollRequest | None:
    """`poll[options][]`, `poll[expires_in]`, `poll[multiple]`, `poll[hide_totals]` (form or JSON); None
    without options. The limits are the outbox's to check."""
    if not params.get("poll"):
        return None
    poll = params.nested("poll")
    options = poll.get_str_list("options")
    if not options:
        return None
    try:
        expires_in = poll.get_int("expires_in")
    except Unprocessable as error:
        raise Unprocessable(
            "Validation failed: poll[expires_in] must be an integer", field="poll.expires_in"
        ) from error
    if expires_in is None:
        raise Unprocessable("Validation failed: poll[expires_in] is missing", field="poll.expires_in")
    return PollRequest(
        options=options,
        expires_in=expires_in,
        multiple=bool(poll.get_bool("multiple", False)),
        hide_totals=bool(poll.get_bool("hide_totals", False)),
    )


def _visibility(params: Params, default: str) -> str:
    visibility = params.get_str("visibility") or default
    if visibility not in VISIBILITIES:
        raise Unprocessable(
            f"Validation failed: visibility must be one of {', '.join(VISIBILITIES)}",
            field="visibility",
            code=ValidationCode.INCLUSION,
        )
    return visibility


async def create_status(request: Request) -> Response:
    auth = await require_auth(request, "write:statuses")
    assert auth.account is not None and auth.user is not None
    params = await read_params(request)
    key = request.headers.get("idempotency-key") or None
    if key is not None and len(key) > MAX_IDEMPOTENCY_KEY:
        raise Unprocessable(
            "Validation failed: Idempotency-Key is too long",
            field="Idempotency-Key",
            code=ValidationCode.TOO_LONG,
        )
    scheduled_at = scheduled_at_of(params)
    variants = variant_drafts(params)
    review = await needs_review(_ctx(request), auth.account, auth.staff_role)
    draft = _draft_of(params, auth, variants)
    if review:
        # An organisation's author: a draft for a publisher, answered as the ScheduledStatus it is (apps
        # show a scheduled post gracefully; docs/CLIENT_API.md).
        return await _schedule(request, auth, draft, scheduled_at, key, review=True)
    if scheduled_at is not None and scheduled_at > utcnow():  # a time already past posts now, as in Mastodon
        return await _schedule(request, auth, draft, scheduled_at, key)
    status = await actions.post_status(
        _ctx(request), auth.account, idempotency_key=key, **draft_arguments(draft)
    )
    return api_response(await _render(request, status, auth.account.id))


def _draft_of(params: Params, auth: Any, variants: list[VariantDraft]) -> Draft:
    """The status the request asks for, posted now or later: the user's defaults fill what it leaves out."""
    return Draft(
        text=params.get_str("status", max_length=None) or "",  # outbox checks the configured limit
        visibility=_visibility(params, auth.user.default_visibility),
        spoiler_text=params.get_str("spoiler_text", max_length=None) or "",
        sensitive=bool(params.get_bool("sensitive", auth.user.default_sensitive)),
        language=params.get_language("language") or auth.user.default_language,
        in_reply_to_id=params.get_id("in_reply_to_id"),
        media_ids=_media_ids(params),
        application_id=auth.app.id if auth.app else None,
        poll=poll_request(params),
        quoted_status_id=params.get_id("quoted_status_id"),
        quote_policy=params.get_str("quote_approval_policy"),
        variants=variants,
    )


async def _schedule(
    request: Request,
    auth: Any,
    draft: Draft,
    scheduled_at: datetime | None,
    key: str | None,
    *,
    review: bool = False,
) -> Response:
    ctx = _ctx(request)
    if review:
        staff = ACTING_STAFF.get()
        assert staff is not None  # set by require_auth for an organisation's member
        wanted = scheduled_at if scheduled_at is not None and scheduled_at > utcnow() else None
        scheduled = await submit_for_review(
            ctx, auth.account, staff, draft, wanted_at=wanted, idempotency_key=key
        )
    else:
        assert scheduled_at is not None
        scheduled = await schedule_status(ctx, auth.account, scheduled_at, draft, idempotency_key=key)
    async with ctx.db.read() as session:
        media = (await held_media(session, [scheduled.id])).get(scheduled.id, [])
    return api_response(scheduled_to_entity(ctx, scheduled, media))


async def get_status(request: Request) -> Response:
    viewer = viewer_account(await optional_auth(request, "read:statuses"))
    viewer_id = viewer.id if viewer else None
    ctx = _ctx(request)
    async with ctx.db.read() as session:
        status = await _visible_status(session, _status_id(request), viewer_id)
        return api_response(
            await status_to_entity(session, ctx, status, viewer_id, accepted_languages=_accepted(request))
        )


async def status_card(request: Request) -> Response:
    """The status's PreviewCard, or `{}` without one: Mastodon 2.x's answer, kept for the apps that still
    ask (Mastodon 3.0 dropped the route for the Status entity's `card`)."""
    viewer = viewer_account(await optional_auth(request, "read:statuses"))
    viewer_id = viewer.id if viewer else None
    ctx = _ctx(request)
    async with ctx.db.read() as session:
        status = await _visible_status(session, _status_id(request), viewer_id)
        entity = await status_to_entity(session, ctx, status, viewer_id)
    return api_response(entity["card"] or {})


MAX_MULTI_GET = 20  # Mastodon's DEFAULT_STATUSES_LIMIT for `GET /api/v1/statuses?id[]=`


async def get_statuses(request: Request) -> Response:
    """Several statuses at once, in the order asked; those the viewer may not see (or that do not exist)
    are left out, as Mastodon does."""
    viewer = viewer_account(await optional_auth(request, "read:statuses"))
    viewer_id = viewer.id if viewer else None
    ids = parse_id_list(await read_params(request), "id", limit=MAX_MULTI_GET)
    ctx = _ctx(request)
    async with ctx.db.read() as session:
        visible = []
        for status_id in ids:
            status = await status_by_id(session, status_id)
            if status is not None and await can_see(session, viewer_id, status):
                visible.append(status)
        return api_response(
            await statuses_to_entities(
                session, ctx, visible, viewer_id, accepted_languages=_accepted(request)
            )
        )


async def delete_status(request: Request) -> Response:
    auth = await require_auth(request, "write:statuses")
    assert auth.account is not None
    ctx = _ctx(request)
    async with ctx.db.read() as session:
        status = await _visible_status(session, _status_id(request), auth.account.id)
        entity = await status_to_entity(session, ctx, status, auth.account.id)
    deleted = await actions.delete_status(ctx, auth.account, status.id)
    # The source comes back so the client can offer "delete and redraft".
    entity["text"] = deleted.text
    return api_response(entity)


async def edit_status(request: Request) -> Response:
    auth = await require_auth(request, "write:statuses")
    assert auth.account is not None
    params = await read_params(request)
    ctx = _ctx(request)
    async with ctx.db.read() as session:
        current = await _visible_status(session, _status_id(request), auth.account.id)
    status = await actions.edit_status(
        ctx,
        auth.account,
        current.id,
        text=params.get_str("status", max_length=None) or "",  # outbox checks the configured limit
        spoiler_text=params.get_str("spoiler_text", max_length=None) or "",
        sensitive=bool(params.get_bool("sensitive", False)),
        language=params.get_language("language"),
        media_ids=_media_ids(params) if "media_ids" in params else await _current_media(ctx, current.id),
        poll=poll_request(params),
        variants=variant_drafts(params),
    )
    return api_response(await _render(request, status, auth.account.id))


async def _current_media(ctx: Context, status_id: int) -> list[int]:
    async with ctx.db.read() as session:
        rows = await session.execute(
            select(MediaAttachment.id)
            .where(MediaAttachment.status_id == status_id)
            .order_by(MediaAttachment.id)
        )
        return list(rows.scalars())


async def status_context(request: Request) -> Response:
    viewer = viewer_account(await optional_auth(request, "read:statuses"))
    viewer_id = viewer.id if viewer else None
    ctx = _ctx(request)
    async with ctx.db.read() as session:
        status = await _visible_status(session, _status_id(request), viewer_id)
        ancestors = await ancestor_statuses(session, status, viewer_id)
        descendants = await descendant_statuses(session, status, viewer_id)
        rendered = await statuses_to_entities(
            session,
            ctx,
            [*ancestors, *descendants],
            viewer_id,
            context="thread",
            accepted_languages=_accepted(request),
        )
    by_id = {entity["id"]: entity for entity in rendered}
    return api_response(
        {
            "ancestors": [by_id[str(s.id)] for s in ancestors if str(s.id) in by_id],
            "descendants": [by_id[str(s.id)] for s in descendants if str(s.id) in by_id],
        }
    )


# An act on a status the caller can see; it gives back the status to show, or None for the one acted on.
StatusAct = Callable[[Context, Account, Status], Awaitable[Status | None]]


async def _interact(request: Request, scope: str, act: StatusAct) -> Response:
    """Run an action on a status the caller can see, then answer with the status as it now is."""
    auth = await require_auth(request, scope)
    assert auth.account is not None
    ctx = _ctx(request)
    async with ctx.db.read() as session:
        status = await _visible_status(session, _status_id(request), auth.account.id)
    shown = await act(ctx, auth.account, status)
    return api_response(await _render(request, shown or status, auth.account.id))


def _acting_on_status(scope: str, act: StatusAct) -> Callable[[Request], Awaitable[Response]]:
    """The endpoint that runs `act` (with `scope`) on a status the caller can see (`_interact`)."""

    async def endpoint(request: Request) -> Response:
        return await _interact(request, scope, act)

    return endpoint


def _by_id(action: Callable[[Context, Account, int], Awaitable[Status]]) -> StatusAct:
    """An `outbox.actions` act, which takes the status's id; it gives back the status to show."""
    return lambda ctx, account, status: action(ctx, account, status.id)


def _stored(change: Callable[[AsyncSession, int, Status], Awaitable[object]]) -> StatusAct:
    """A private mark written here in its own transaction (no activity goes out); the status is shown as is."""

    async def act(ctx: Context, account: Account, status: Status) -> None:
        async with ctx.db.transaction() as session:
            await change(session, account.id, status)

    return act


def _bookmarked(change: Callable[[AsyncSession, int, int], Awaitable[object]]) -> StatusAct:
    """A bookmark of a boost marks the boosted post."""
    return _stored(
        lambda session, account_id, status: change(session, account_id, status.reblog_of_id or status.id)
    )


favourite = _acting_on_status("write:favourites", _by_id(actions.favourite))
unfavourite = _acting_on_status("write:favourites", _by_id(actions.unfavourite))
unreblog = _acting_on_status("write:statuses", _by_id(actions.unreblog))  # the original, no longer boosted
bookmark = _acting_on_status("write:bookmarks", _bookmarked(add_bookmark))
unbookmark = _acting_on_status("write:bookmarks", _bookmarked(remove_bookmark))
mute_thread = _acting_on_status("write:mutes", _stored(mute_conversation))
unmute_thread = _acting_on_status("write:mutes", _stored(unmute_conversation))
pin = _acting_on_status("write:accounts", _by_id(actions.pin_status))
unpin = _acting_on_status("write:accounts", _by_id(actions.unpin_status))


async def reblog(request: Request) -> Response:
    visibility = (await read_params(request)).get_str("visibility") or "public"

    async def act(ctx: Context, account: Account, status: Status) -> Status:
        return await actions.reblog(
            ctx, account, status.id, visibility
        )  # the boost itself, wrapping the original

    return await _interact(request, "write:statuses", act)


async def status_history(request: Request) -> Response:
    viewer = viewer_account(await optional_auth(request, "read:statuses"))
    viewer_id = viewer.id if viewer else None
    ctx = _ctx(request)
    async with ctx.db.read() as session:
        status = await _visible_status(session, _status_id(request), viewer_id)
        author = await session.get(Account, status.account_id)
        assert author is not None
        edits = list(
            (
                await session.execute(
                    select(StatusEdit).where(StatusEdit.status_id == status.id).order_by(StatusEdit.id)
                )
            ).scalars()
        )
        texts = [text for edit in (*edits, status) for text in (edit.spoiler_text, edit.content)]
        emojis = await emojis_in(session, author.domain, texts, LocalUrls(ctx.base_url))
        media = (
            await session.execute(
                select(MediaAttachment)
                .where(MediaAttachment.status_id == status.id)
                .order_by(MediaAttachment.id)
            )
        ).scalars()
        history = status_edits_to_entities(
            status,
            edits,
            account_to_entity(author, ctx),
            [media_to_entity(ctx, item) for item in media],
            emojis,
        )
    return api_response(history)


async def status_source(request: Request) -> Response:
    auth = await require_auth(request, "read:statuses")
    assert auth.account is not None
    async with _ctx(request).db.read() as session:
        status = await _visible_status(session, _status_id(request), auth.account.id)
        variants = (await variants_of(session, [status.id])).get(status.id, [])
    if status.account_id != auth.account.id:
        raise NotFound()
    return api_response(status_source_to_entity(status, variants))


async def _accounts_page(request: Request, query_of: Any, page_column: Any) -> Response:
    viewer = viewer_account(await optional_auth(request, "read:accounts"))
    viewer_id = viewer.id if viewer else None
    ctx = _ctx(request)
    page = Page.from_params(await read_params(request), max_limit=80)
    async with ctx.db.read() as session:
        status = await _visible_status(session, _status_id(request), viewer_id)
        rows = (await session.execute(apply_page(query_of(status.id), page_column, page))).all()
    rows = in_display_order(rows, page)
    return api_response(
        [account_to_entity(account, ctx) for _, account in rows],
        headers=link_headers(request, [row_id for row_id, _ in rows]),
    )


async def favourited_by(request: Request) -> Response:
    return await _accounts_page(request, favourited_by_query, Favourite.id)


async def reblogged_by(request: Request) -> Response:
    return await _accounts_page(request, reblogged_by_query, Status.id)


routes = [
    Route("/api/v1/statuses", create_status, methods=["POST"]),
    Route("/api/v1/statuses", get_statuses, methods=["GET"]),
    Route("/api/v1/statuses/{status_id}", get_status, methods=["GET"]),
    Route("/api/v1/statuses/{status_id}", delete_status, methods=["DELETE"]),
    Route("/api/v1/statuses/{status_id}", edit_status, methods=["PUT"]),
    Route("/api/v1/statuses/{status_id}/context", status_context, methods=["GET"]),
    Route("/api/v1/statuses/{status_id}/card", status_card, methods=["GET"]),
    Route("/api/v1/statuses/{status_id}/favourite", favourite, methods=["POST"]),
    Route("/api/v1/statuses/{status_id}/unfavourite", unfavourite, methods=["POST"]),
    Route("/api/v1/statuses/{status_id}/reblog", reblog, methods=["POST"]),
    Route("/api/v1/statuses/{status_id}/unreblog", unreblog, methods=["POST"]),
    Route("/api/v1/statuses/{status_id}/bookmark", bookmark, methods=["POST"]),
    Route("/api/v1/statuses/{status_id}/unbookmark", unbookmark, methods=["POST"]),
    Route("/api/v1/statuses/{status_id}/mute", mute_thread, methods=["POST"]),
    Route("/api/v1/statuses/{status_id}/unmute", unmute_thread, methods=["POST"]),
    Route("/api/v1/statuses/{status_id}/pin", pin, methods=["POST"]),
    Route("/api/v1/statuses/{status_id}/unpin", unpin, methods=["POST"]),
    Route("/api/v1/statuses/{status_id}/history", status_history, methods=["GET"]),
    Route("/api/v1/statuses/{status_id}/source", status_source, methods=["GET"]),
    Route("/api/v1/statuses/{status_id}/favourited_by", favourited_by, methods=["GET"]),
    Route("/api/v1/statuses/{status_id}/reblogged_by", reblogged_by, methods=["GET"]),
]
