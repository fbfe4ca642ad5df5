"""`/web/review`: the review queue of the organisations whose publisher the signed-in staff member is — each
draft an author submitted, with approve (now), return (with a comment) and edit (text, content warning,
visibility, language, other languages) as plain form posts, acting as the organisation through `outbox.actions.review` so the
audit trail names this login and "web session" — and, for an author, their own drafts to correct."""

from __future__ import annotations

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from login.sessions import SignedIn, web_staff
from outbox.actions.review import PENDING, RETURNED, approve_draft, edit_draft, return_draft
from outbox.actions.scheduled import DraftChange
from outbox.actions.status_languages import MAX_VARIANTS
from outbox.errors import ActionError
from storage.acting import ACTING_STAFF
from storage.context import Context
from storage.ids import parse_id
from storage.models import Account, ScheduledStatus, User
from web.pages import render_page
from web.staff.access import posted_by_viewer, see_other, viewer_or_login
from web.staff.compose import LANGUAGE_SLOTS, LANGUAGES, VISIBILITIES, form_variants

PAGE = "/web/review"


def _published_for(login: SignedIn) -> list[Account]:
    """The organisations this login may review for (publisher)."""
    return [m.organisation for m in login.memberships if m.role == "publisher"]


async def _page(request: Request, login: SignedIn, *, status_code: int = 200, error: str = "") -> Response:
    """A publisher sees every draft waiting in their organisations; any other member their own drafts,
    waiting or returned, to correct them."""
    ctx: Context = request.state.ctx
    queues = []
    async with ctx.db.read() as session:
        for membership in login.memberships:
            publisher = membership.role == "publisher"
            query = (
                select(ScheduledStatus, Account.username)
                .outerjoin(User, User.id == ScheduledStatus.submitted_by_user_id)
                .outerjoin(Account, Account.id == User.account_id)
                .where(ScheduledStatus.account_id == membership.organisation.id)
                .order_by(ScheduledStatus.id)
            )
            if publisher:
                query = query.where(ScheduledStatus.review_state == PENDING)
            else:
                query = query.where(
                    ScheduledStatus.review_state.in_((PENDING, RETURNED)),
                    ScheduledStatus.submitted_by_user_id == login.user.id,
                )
            rows = list((await session.execute(query)).all())
            if publisher or rows:
                queues.append((membership.organisation, rows, publisher))
    return await render_page(
        request,
        "staff/review.html",
        status_code,
        queues=queues,
        error=error,
        saved=request.query_params.get("saved", ""),
        visibilities=VISIBILITIES,
        languages=LANGUAGES,
        language_slots=LANGUAGE_SLOTS,
    )


async def review_page(request: Request) -> Response:
    login = await viewer_or_login(request)
    if isinstance(login, Response):
        return login
    return await _page(request, login)


async def decide(request: Request) -> Response:
    ctx: Context = request.state.ctx
    checked = await posted_by_viewer(request)
    if isinstance(checked, Response):
        return checked
    login, form = checked
    organisation_id, draft_id = parse_id(form.get("organisation_id")), parse_id(form.get("draft_id"))
    chosen = [o for o in _published_for(login) if o.id == organisation_id]
    if not chosen or draft_id is None:
        return await _page(request, login, status_code=403, error="not_publisher")
    staff = web_staff(login.user, login.account, chosen[0], "publisher")
    ACTING_STAFF.set(staff)  # what this request sends as the organisation (the author's message) is audited
    try:
        if form.get("decision") == "approve":
            await approve_draft(ctx, chosen[0], staff, draft_id)
            return see_other(f"{PAGE}?saved=approved")
        await return_draft(ctx, chosen[0], staff, draft_id, form.get("comment"))
    except ActionError:
        return await _page(request, login, status_code=422, error="cannot")
    return see_other(f"{PAGE}?saved=returned")


async def edit(request: Request) -> Response:
    """A publisher, or the draft's author, changes a draft's text, content warning, visibility, language and
    other languages."""
    ctx: Context = request.state.ctx
    checked = await posted_by_viewer(request)
    if isinstance(checked, Response):
        return checked
    login, form = checked
    organisation_id, draft_id = parse_id(form.get("organisation_id")), parse_id(form.get("draft_id"))
    chosen = [m for m in login.memberships if m.organisation.id == organisation_id]
    if not chosen or draft_id is None:
        return await _page(request, login, status_code=403, error="not_member")
    language = form.get("language") or None
    if form.get("visibility") not in VISIBILITIES or (language is not None and language not in LANGUAGES):
        return await _page(request, login, status_code=422, error="cannot_edit")
    # The form shows a fieldset per language the draft has (those the API wrote too, any ISO 639 code the
    # outbox accepts); a form without them keeps the draft's languages.
    sends_variants = "variant_language1" in form.fields
    variants = form_variants(form, MAX_VARIANTS, None) if sends_variants else None
    if sends_variants and variants is None:
        return await _page(request, login, status_code=422, error="cannot_edit")
    staff = web_staff(login.user, login.account, chosen[0].organisation, chosen[0].role)
    try:
        await edit_draft(
            ctx,
            chosen[0].organisation,
            staff,
            draft_id,
            DraftChange(
                text=form.get("text"),
                spoiler_text=form.get("spoiler_text"),
                visibility=form.get("visibility"),
                language=language,
                variants=variants,
            ),
        )
    except ActionError as error:
        return await _page(
            request,
            login,
            status_code=error.status_code,
            error="not_member" if error.status_code == 403 else "cannot_edit",
        )
    return see_other(f"{PAGE}?saved=edited")


routes = [
    Route(PAGE, review_page, methods=["GET"]),
    Route(PAGE, decide, methods=["POST"]),
    Route(f"{PAGE}/edit", edit, methods=["POST"]),
]
