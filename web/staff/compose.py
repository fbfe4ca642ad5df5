"""Writing a post in the browser (`/web/compose`): text, content warning, visibility, language, up to four
images each with its alt text, the post in up to two more languages (docs/MULTILINGUAL.md), and a reply to
a post the viewer may see. Publishing goes through the same
`outbox.actions.post_status` as `POST /api/v1/statuses`, images through `outbox.uploads` as
`POST /api/v2/media`; a resent form (the same hidden key) publishes once."""

from __future__ import annotations

import secrets
from collections.abc import Collection

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from login.sessions import SignedIn
from outbox import actions
from outbox.actions.review import submit_for_review
from outbox.actions.scheduled import Draft, draft_arguments, needs_review
from outbox.actions.status_languages import VariantDraft
from outbox.actions.statuses import MAX_MEDIA
from outbox.errors import ActionError
from outbox.uploads import upload_image
from storage.acting import ACTING_STAFF
from storage.context import Context
from storage.ids import parse_id
from storage.models import Status
from storage.organisations import NEED_POST
from storage.statuses import can_see
from web.forms import Form
from web.pages import render_page
from web.posts import load_posts
from web.staff.access import posted_as_acting, see_other, viewer_or_login

VISIBILITIES = ("public", "unlisted", "private", "direct")
LANGUAGES = ("nl", "en", "fy", "de", "fr")
MAX_ALT_TEXT = 1500
LANGUAGE_SLOTS = 2  # more languages than the post's own: the API takes more, the form keeps it simple
# Where the form's own paths are: the body limit (plein.app) gives it room for its images.
UPLOAD_PATHS = ("/web/compose",)


async def _reply_target(ctx: Context, viewer_id: int, raw: str) -> Status | None:
    status_id = parse_id(raw) if raw else None
    if status_id is None:
        return None
    async with ctx.db.read() as session:
        status = await session.get(Status, status_id)
        return status if status is not None and await can_see(session, viewer_id, status) else None


async def _form_page(
    request: Request,
    login: SignedIn,
    form: Form | None,
    *,
    reply_to: Status | None,
    error: str = "",
    status_code: int = 200,
    submitted: bool = False,
) -> Response:
    ctx: Context = request.state.ctx
    reply_post = None
    if reply_to is not None:
        async with ctx.db.read() as session:
            (reply_post,) = await load_posts(ctx, session, [reply_to])
    values = form.fields if form is not None else {}
    text = values.get("text", "")
    if form is None and reply_post is not None and reply_post.author.id != login.acting.id:
        author = reply_post.author  # a reply starts with the mention of whom it answers, as in the apps
        text = f"@{author.username}@{author.domain} " if author.domain else f"@{author.username} "
    return await render_page(
        request,
        "staff/compose.html",
        status_code,
        values=values,
        text=text,
        reply=reply_post,
        error=error,
        submitted=submitted,
        visibilities=VISIBILITIES,
        languages=LANGUAGES,
        chosen_visibility=values.get("visibility") or login.user.default_visibility or "public",
        chosen_language=values.get("language") or login.user.default_language or "",
        image_slots=range(1, MAX_MEDIA + 1),
        language_slots=range(1, LANGUAGE_SLOTS + 1),
        idempotency_key=values.get("idempotency_key") or secrets.token_urlsafe(16),
    )


async def compose_page(request: Request) -> Response:
    ctx: Context = request.state.ctx
    login = await viewer_or_login(request)
    if isinstance(login, Response):
        return login
    reply_to = await _reply_target(ctx, login.acting.id, request.query_params.get("in_reply_to_id", ""))
    return await _form_page(
        request, login, None, reply_to=reply_to, submitted=bool(request.query_params.get("submitted"))
    )


async def publish(request: Request) -> Response:
    ctx: Context = request.state.ctx
    checked = await posted_as_acting(request, NEED_POST)
    if isinstance(checked, Response):
        return checked
    login, form = checked
    author = login.acting  # the organisation the viewer acts as, else their own account
    reply_to = await _reply_target(ctx, author.id, form.get("in_reply_to_id"))
    if form.get("in_reply_to_id") and reply_to is None:
        return await _form_page(request, login, form, reply_to=None, error="reply_gone", status_code=422)
    visibility = form.get("visibility", "public")
    if visibility not in VISIBILITIES:
        return await _form_page(request, login, form, reply_to=reply_to, error="visibility", status_code=422)
    language = form.get("language") or None
    if language is not None and language not in LANGUAGES:
        return await _form_page(request, login, form, reply_to=reply_to, error="language", status_code=422)
    variants = form_variants(form)
    if variants is None:
        return await _form_page(request, login, form, reply_to=reply_to, error="variant", status_code=422)
    key = f"web:{form.get('idempotency_key')}" if form.get("idempotency_key") else None
    try:
        media_ids = await _upload_images(ctx, author.id, form)
        spoiler_text = form.get("spoiler_text").strip()
        draft = Draft(
            text=form.get("text"),
            visibility=visibility,
            spoiler_text=spoiler_text,
            sensitive=bool(form.get("sensitive")) or bool(spoiler_text),
            language=language,
            in_reply_to_id=reply_to.id if reply_to is not None else None,
            media_ids=media_ids,
            variants=variants,
        )
        staff = ACTING_STAFF.get()
        if staff is not None and await needs_review(ctx, author, login.staff_role):
            # An organisation's author: the post waits for a publisher, as through the API.
            await submit_for_review(ctx, author, staff, draft, idempotency_key=key)
            return see_other("/web/compose?submitted=1")
        await actions.post_status(ctx, author, idempotency_key=key, **draft_arguments(draft))
    except ActionError as error:
        field = getattr(error, "field", "base")
        kind = (
            "image"
            if field in ("image", "file")
            else "text"
            if field in ("status", "text", "base")
            else "variant"
            if field.startswith("status_map")
            else field
        )
        return await _form_page(
            request, login, form, reply_to=reply_to, error=kind, status_code=error.status_code
        )
    return see_other("/web/home")


def form_variants(
    form: Form, slots: int = LANGUAGE_SLOTS, languages: Collection[str] | None = LANGUAGES
) -> list[VariantDraft] | None:
    """The other languages filled in the form's `slots` fieldsets (a slot without text is unused); None
    when a slot with text names no language (of `languages`, when given). The outbox checks the rest
    (known and distinct languages, length)."""
    drafts = []
    for slot in range(1, slots + 1):
        text, language = form.get(f"variant_text{slot}"), form.get(f"variant_language{slot}")
        if not text.strip():
            continue
        if not language or (languages is not None and language not in languages):
            return None
        drafts.append(VariantDraft(language, text, form.get(f"variant_cw{slot}").strip()))
    return drafts


async def _upload_images(ctx: Context, account_id: int, form: Form) -> list[int]:
    media_ids = []
    for slot in range(1, MAX_MEDIA + 1):
        uploads = form.get_files(f"image{slot}")
        if not uploads:
            continue
        alt_text = form.get(f"alt{slot}").strip()[:MAX_ALT_TEXT]
        media = await upload_image(
            ctx, account_id, uploads[0].data, description=alt_text or None, field="image"
        )
        media_ids.append(media.id)
    return media_ids


routes = [
    Route("/web/compose", compose_page, methods=["GET"]),
    Route("/web/compose", publish, methods=["POST"]),
]
