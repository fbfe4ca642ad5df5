"""ActivityPub GET endpoints of statuses and activities: the Note (or a 410 Tombstone), its `Create`, its
replies collection, any activity by id, and the actor's outbox — an edited status in its current state
(`outbox.current`).

Who may read what: public and unlisted objects to anyone (with `federation.authorized_fetch`, only to
signed requests from hosts we federate with); followers-only ones only to a signed request from an actor
that follows the author; direct ones only to a mentioned actor. Anything else is answered 404, as if it
did not exist. A browser (no AS2 in Accept) is redirected to the HTML page.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from apub.errors import SignatureError
from apub.vocab import wants_activity_json
from inbox.verify import signed_fetcher, verify_signature
from outbox.actors import collection, collection_page
from outbox.current import current_create, outbox_item
from outbox.errors import BadRequest
from outbox.render import Tombstone, load_note_parts, status_to_note
from storage.accounts import account_by_uri, is_account_actor, local_account_by_username
from storage.activities import activity_by_id, count_outbox, create_activity_of, outbox_page
from storage.context import Context
from storage.ids import parse_id
from storage.models import Account, Activity, Status
from storage.statuses import can_see, public_replies_page, status_by_id
from storage.urls import LocalUrls

PAGE_SIZE = 20
PUBLICLY_LISTED = ("public", "unlisted")
SIGNATURE_HEADERS = ("signature", "signature-input", "authorization")


def activity_response(document: dict[str, Any], status_code: int = 200) -> Response:
    """An AS2 JSON response with the content type federation peers expect."""
    return JSONResponse(document, status_code=status_code, media_type="application/activity+json")


def not_found() -> Response:
    return JSONResponse({"error": "Record not found"}, status_code=404)


async def requester_id(request: Request, ctx: Context) -> int | None:
    """The stored account id of whoever signed the request, or None for an anonymous one.

    With authorized fetch a signature is required (SignatureError → 401); otherwise a signature is checked
    only when present, and a bad one counts as anonymous.
    """
    if ctx.settings.federation.authorized_fetch:
        signer = await signed_fetcher(request, ctx)
    elif any(name in request.headers for name in SIGNATURE_HEADERS):
        try:
            signer = await verify_signature(request, ctx, b"")
        except SignatureError:
            return None
    else:
        return None
    if signer is None:
        return None
    async with ctx.db.read() as session:
        account = await account_by_uri(session, signer.owner)
    return account.id if account else None


async def _author_and_status(ctx: Context, request: Request) -> tuple[Account, Status] | None:
    status_id = parse_id(request.path_params["status_id"])
    if status_id is None:
        return None
    async with ctx.db.read() as session:
        author = await local_account_by_username(session, request.path_params["username"])
        status = await status_by_id(session, status_id)
    if author is None or status is None or status.account_id != author.id or status.reblog_of_id is not None:
        return None
    if author.suspended_at is not None:
        return None
    return author, status


async def _visible(ctx: Context, viewer_id: int | None, status: Status) -> bool:
    async with ctx.db.read() as session:
        return await can_see(session, viewer_id, status)


async def _tombstone(ctx: Context, viewer_id: int | None, status: Status) -> Response:
    """The 410 Tombstone of a deleted status, to those who could see it while it lived; a 404 to others,
    so that a hidden status leaves no trace once deleted either."""
    async with ctx.db.read() as session:
        could_see = await can_see(session, viewer_id, status, even_deleted=True)
    if not could_see:
        return not_found()
    return activity_response(Tombstone.document(status.uri, status.deleted_at), Tombstone.status_code)


async def status_object(request: Request) -> Response:
    """GET {actor}/statuses/{id}: the Note, a 410 Tombstone once deleted, or the HTML page for browsers."""
    ctx: Context = request.state.ctx
    for_browser = not wants_activity_json(request.headers.get("accept", ""))
    # Who asks is settled before what is asked for: with authorized fetch an unsigned reader is refused
    # (401) whether or not the status exists.
    viewer_id = None if for_browser else await requester_id(request, ctx)
    found = await _author_and_status(ctx, request)
    if found is None:
        return not_found()
    author, status = found
    if for_browser:
        # A browser reads the HTML page, which shows public and unlisted posts only.
        if status.visibility not in PUBLICLY_LISTED:
            return not_found()
        return RedirectResponse(status.url or author.url or "/", status_code=302)
    if status.deleted_at is not None:
        return await _tombstone(ctx, viewer_id, status)
    if not await _visible(ctx, viewer_id, status):
        return not_found()
    async with ctx.db.read() as session:
        parts = await load_note_parts(session, status, author)
    return activity_response(status_to_note(parts, LocalUrls(ctx.base_url), ctx.domain))


async def status_activity(request: Request) -> Response:
    """GET {actor}/statuses/{id}/activity: the `Create` that published the status."""
    ctx: Context = request.state.ctx
    viewer_id = await requester_id(request, ctx)  # first, as in status_object
    found = await _author_and_status(ctx, request)
    if found is None:
        return not_found()
    _, status = found
    if status.deleted_at is not None:
        return await _tombstone(ctx, viewer_id, status)
    if not await _visible(ctx, viewer_id, status):
        return not_found()
    async with ctx.db.read() as session:
        activity = await create_activity_of(session, status.id)
        if activity is None:
            return not_found()
        document = await current_create(session, activity, LocalUrls(ctx.base_url), ctx.domain)
    return activity_response(document)


async def status_replies(request: Request) -> Response:
    """GET {actor}/statuses/{id}/replies: public replies, newest first, as an OrderedCollection."""
    ctx: Context = request.state.ctx
    viewer_id = await requester_id(request, ctx)  # first, as in status_object
    found = await _author_and_status(ctx, request)
    if found is None:
        return not_found()
    _, status = found
    if not await _visible(ctx, viewer_id, status):
        return not_found()
    url = f"{ctx.base_url}{request.url.path}"
    if "page" not in request.query_params:
        return activity_response(collection(url, status.replies_count, first_page=f"{url}?page=true"))
    max_id = _max_id(request)
    async with ctx.db.read() as session:
        replies = await public_replies_page(session, status.id, max_id=max_id, limit=PAGE_SIZE + 1)
    page_url = f"{url}?page=true" + (f"&max_id={max_id}" if max_id else "")
    next_url = f"{url}?page=true&max_id={replies[PAGE_SIZE - 1].id}" if len(replies) > PAGE_SIZE else None
    items = [reply.uri for reply in replies[:PAGE_SIZE]]
    return activity_response(collection_page(url, page_url, items, next_url=next_url))


def _max_id(request: Request) -> int | None:
    """The `max_id` of a collection page: absent, or a canonical id (BadRequest otherwise)."""
    value = request.query_params.get("max_id")
    if not value:
        return None
    max_id = parse_id(value)
    if max_id is None:
        raise BadRequest("max_id must be an id")
    return max_id


async def _activity_visible(ctx: Context, viewer_id: int | None, activity: Activity) -> bool:
    if activity.visibility in ("public", "unlisted"):
        return True
    async with ctx.db.read() as session:
        status = await status_by_id(session, activity.status_id) if activity.status_id else None
        if status is not None:
            return await can_see(session, viewer_id, status)
    # Follows, blocks, likes, answers: only the actor they were sent to may read them.
    recipients = [*activity.payload.get("to", []), *activity.payload.get("cc", [])]
    if viewer_id is None:
        return False
    async with ctx.db.read() as session:
        viewer = await session.get(Account, viewer_id)
    return viewer is not None and viewer.uri in recipients


async def activity_object(request: Request) -> Response:
    """GET /activities/{id}: one of our activities (a `Create` lives at its status's `/activity`)."""
    ctx: Context = request.state.ctx
    viewer_id = await requester_id(request, ctx)  # first, as in status_object
    activity_id = parse_id(request.path_params["activity_id"])
    if activity_id is None:
        return not_found()
    async with ctx.db.read() as session:
        activity = await activity_by_id(session, activity_id)
    if activity is None:
        return not_found()
    if not await _activity_visible(ctx, viewer_id, activity):
        return not_found()
    if activity.uri != f"{ctx.base_url}{request.url.path}":
        return RedirectResponse(activity.uri, status_code=301)
    return activity_response(activity.payload)


async def outbox(request: Request) -> Response:
    """GET {actor}/outbox: the actor's public Create and Announce activities, newest first."""
    ctx: Context = request.state.ctx
    async with ctx.db.read() as session:
        account = await local_account_by_username(session, request.path_params["username"])
        if account is None or account.suspended_at is not None or not is_account_actor(account):
            return not_found()
        total = await count_outbox(session, account.id)
    await requester_id(request, ctx)  # authorized fetch: refuse unsigned readers
    url = account.outbox_url or f"{account.uri}/outbox"
    if "page" not in request.query_params:
        return activity_response(collection(url, total, first_page=f"{url}?page=true"))
    max_id = _max_id(request)
    urls = LocalUrls(ctx.base_url)
    async with ctx.db.read() as session:
        rows = await outbox_page(session, account.id, max_id=max_id, limit=PAGE_SIZE + 1)
        documents = [await outbox_item(session, row, urls, ctx.domain) for row in rows[:PAGE_SIZE]]
    items = [{key: value for key, value in document.items() if key != "@context"} for document in documents]
    page_url = f"{url}?page=true" + (f"&max_id={max_id}" if max_id else "")
    next_url = f"{url}?page=true&max_id={rows[PAGE_SIZE - 1].id}" if len(rows) > PAGE_SIZE else None
    return activity_response(collection_page(url, page_url, items, next_url=next_url))
