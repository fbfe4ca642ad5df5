"""Scheduled statuses: schedule (checked now as a post would be, Mastodon's limits, media held), move,
cancel, and publish when the `scheduled_statuses` queue's job comes due (`post_status` consuming the row in
its own transaction, so it is published once)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from outbox.actions.quoting import check_quote_policy, quotable_status
from outbox.actions.status_languages import VariantDraft, check_variants, maps_to_drafts, variants_to_maps
from outbox.actions.statuses import check_poll, check_text, post_status
from outbox.errors import ActionError, Forbidden, NotFound, Unprocessable
from storage.acting import ACTING_STAFF, ActingStaff
from storage.context import Context
from storage.models import Account, ScheduledStatus, Status
from storage.organisations import organisation_of, record_audit
from storage.polls import PollRequest
from storage.queue import JobFailed, RetryJob
from storage.scheduled_statuses import (
    MIN_OFFSET,
    add_scheduled,
    consume,
    limit_reached,
    reschedule,
    reserve_media,
    scheduled_of,
    scheduled_with_key,
)
from storage.statuses import VISIBILITIES, can_see, status_by_id
from storage.types import utcnow

logger = logging.getLogger(__name__)
# What an edit of a scheduled status or draft may change (Mastodon's names in the entity's `params`).
EDITABLE = ("text", "spoiler_text", "visibility", "language", "sensitive", "status_map", "spoiler_text_map")


@dataclass(frozen=True)
class Draft:
    """A status to publish later: what `post_status` will be given."""

    text: str
    visibility: str = "public"
    spoiler_text: str = ""
    sensitive: bool = False
    language: str | None = None
    in_reply_to_id: int | None = None
    media_ids: Sequence[int] = ()
    application_id: int | None = None
    poll: PollRequest | None = None
    quoted_status_id: int | None = None
    quote_policy: str | None = None
    variants: Sequence[VariantDraft] = ()  # the other languages (docs/MULTILINGUAL.md)


@dataclass(frozen=True)
class DraftChange:
    """What an edit in place of a scheduled status or a draft in review sets (`variants` None keeps its other
    languages, [] removes them); the rest of the draft stays."""

    text: str
    spoiler_text: str
    visibility: str
    language: str | None
    variants: Sequence[VariantDraft] | None = None


def draft_arguments(draft: Draft) -> dict[str, Any]:
    """The draft as `post_status`'s keyword arguments (the variants stay drafts, unlike `asdict`)."""
    return {field.name: getattr(draft, field.name) for field in fields(draft)}


def draft_params(draft: Draft, idempotency_key: str | None) -> dict[str, object]:
    """The draft as the ScheduledStatus entity's `params` (Mastodon's names and shapes)."""
    return {
        "text": draft.text,
        "visibility": draft.visibility,
        "spoiler_text": draft.spoiler_text or None,
        "sensitive": draft.sensitive,
        "language": draft.language,
        "in_reply_to_id": draft.in_reply_to_id,
        "media_ids": [str(media_id) for media_id in draft.media_ids] or None,
        "application_id": draft.application_id,
        "poll": asdict(draft.poll) if draft.poll is not None else None,
        "quoted_status_id": str(draft.quoted_status_id) if draft.quoted_status_id is not None else None,
        "quote_approval_policy": draft.quote_policy or "public",
        "scheduled_at": None,
        "idempotency": idempotency_key,
        "with_rate_limit": False,
        **variants_to_maps(draft.variants),  # Plein's extension: present for a status in several languages
    }


def params_to_draft(params: dict[str, object]) -> Draft:
    """A stored scheduled status's `params` as the draft `post_status` will be given."""
    poll = params.get("poll")
    media_ids = params.get("media_ids") or []
    texts, warnings = params.get("status_map"), params.get("spoiler_text_map")
    return Draft(
        text=str(params["text"]),
        visibility=str(params["visibility"]),
        spoiler_text=str(params.get("spoiler_text") or ""),
        sensitive=bool(params.get("sensitive")),
        language=params.get("language"),  # type: ignore[arg-type]
        in_reply_to_id=params.get("in_reply_to_id"),  # type: ignore[arg-type]
        media_ids=[int(media_id) for media_id in media_ids],  # type: ignore[union-attr]
        application_id=params.get("application_id"),  # type: ignore[arg-type]
        poll=PollRequest(**poll) if isinstance(poll, dict) else None,
        quoted_status_id=int(quoted) if isinstance(quoted := params.get("quoted_status_id"), str) else None,
        quote_policy=str(params.get("quote_approval_policy") or "public"),
        variants=maps_to_drafts(
            texts if isinstance(texts, dict) else {}, warnings if isinstance(warnings, dict) else {}
        ),
    )


def check_schedule_time(scheduled_at: datetime) -> None:
    """Mastodon's rule: a scheduled status is at least 5 minutes ahead."""
    if scheduled_at <= utcnow() + MIN_OFFSET:
        raise Unprocessable(
            "Validation failed: Scheduled at must be at least 5 minutes in the future", field="scheduled_at"
        )


def check_draft(ctx: Context, draft: Draft) -> None:
    """What can be checked of a draft without the database, as posting it would be."""
    if draft.visibility not in VISIBILITIES:
        raise Unprocessable(f"Validation failed: unknown visibility {draft.visibility!r}")
    check_text(ctx, draft.text, draft.spoiler_text, draft.media_ids)
    check_variants(ctx, draft.language, draft.variants)
    check_poll(draft.poll, draft.media_ids)
    check_quote_policy(draft.quote_policy)


async def check_draft_in(
    session: AsyncSession, author: Account, draft: Draft, scheduled_at: datetime
) -> None:
    """What a draft is checked against in the database: the status replied to or quoted, the limits."""
    if draft.in_reply_to_id is not None:
        parent = await status_by_id(session, draft.in_reply_to_id)
        if parent is None or parent.reblog_of_id is not None or not await can_see(session, author.id, parent):
            raise NotFound("Record not found: the status replied to")
    if draft.quoted_status_id is not None:
        await quotable_status(session, author, draft.quoted_status_id)  # checked again when published
    if (refusal := await limit_reached(session, author.id, scheduled_at)) is not None:
        raise Unprocessable(f"Validation failed: {refusal}")


async def hold_media(session: AsyncSession, scheduled_id: int, author: Account, draft: Draft) -> None:
    missing = await reserve_media(session, scheduled_id, author.id, draft.media_ids)
    if missing:
        raise Unprocessable(f"Validation failed: media attachments not found: {', '.join(map(str, missing))}")


async def schedule_status(
    ctx: Context,
    author: Account,
    scheduled_at: datetime,
    draft: Draft,
    *,
    idempotency_key: str | None = None,
) -> ScheduledStatus:
    """Keep a status to publish at `scheduled_at`, checked now as posting it would be; the row and its
    `publish` job are one transaction. The same Idempotency-Key gives back the same scheduled status."""
    check_schedule_time(scheduled_at)
    check_draft(ctx, draft)
    async with ctx.db.transaction() as session:
        if idempotency_key:
            existing = await scheduled_with_key(session, author.id, idempotency_key)
            if existing is not None:
                return existing
        await check_draft_in(session, author, draft, scheduled_at)
        scheduled = await add_scheduled(
            session, author.id, scheduled_at, draft_params(draft, idempotency_key)
        )
        await hold_media(session, scheduled.id, author, draft)
    return scheduled


async def move_scheduled(
    ctx: Context, author: Account, scheduled_id: int, scheduled_at: datetime
) -> ScheduledStatus:
    """Change when a scheduled status is published (its job moves with it), under the same rules."""
    check_schedule_time(scheduled_at)
    async with ctx.db.transaction() as session:
        scheduled = await scheduled_of(session, author.id, scheduled_id, for_update=True)
        if scheduled is None:
            raise NotFound("Record not found")
        if scheduled.review_state is not None:
            raise Unprocessable("Validation failed: this draft waits for review; a publisher sets its time")
        if (
            refusal := await limit_reached(session, author.id, scheduled_at, besides=scheduled.id)
        ) is not None:
            raise Unprocessable(f"Validation failed: {refusal}")
        await reschedule(session, scheduled, scheduled_at)
    return scheduled


async def cancel_scheduled(ctx: Context, author: Account, scheduled_id: int) -> None:
    """Drop a scheduled status; its media are free again, and its job finds nothing to publish."""
    async with ctx.db.transaction() as session:
        if await scheduled_of(session, author.id, scheduled_id, for_update=True) is None:
            raise NotFound("Record not found")
        await consume(session, scheduled_id)


async def needs_review(ctx: Context, account: Account, staff_role: str | None) -> bool:
    """Whether a post by a member with `staff_role`, acting as `account`, waits for review."""
    if staff_role != "author":
        return False
    async with ctx.db.read() as session:
        organisation = await organisation_of(session, account.id)
    return organisation is not None and organisation.review_required


def apply_edit(
    ctx: Context, row: ScheduledStatus, change: DraftChange
) -> tuple[dict[str, object], dict[str, object]]:
    """Change what a scheduled status or draft will post, in place, checked as posting it would be; the
    fields before and after. The one way both edits (`edit_scheduled`, review's `edit_draft`) go."""
    spoiler_text = change.spoiler_text.strip()
    current = params_to_draft(row.params)
    draft = replace(
        current,
        text=change.text,
        spoiler_text=spoiler_text,
        visibility=change.visibility,
        language=change.language,
        sensitive=bool(row.params.get("sensitive")) or bool(spoiler_text),
        variants=current.variants if change.variants is None else change.variants,
    )
    check_draft(ctx, draft)
    before = {key: row.params.get(key) for key in EDITABLE}
    after = {
        "text": draft.text,
        "spoiler_text": draft.spoiler_text or None,
        "visibility": draft.visibility,
        "language": draft.language,
        "sensitive": draft.sensitive,
        **variants_to_maps(draft.variants),
    }
    kept = {key: value for key, value in row.params.items() if key not in EDITABLE}
    row.params = {**kept, **after}
    return before, after


async def edit_scheduled(
    ctx: Context,
    author: Account,
    staff: ActingStaff | None,
    scheduled_id: int,
    change: DraftChange,
) -> ScheduledStatus:
    """Change what a scheduled status (not a draft in review) will post — a Plein extension. Not by an
    organisation's member whose posts wait for review (that would pass the review by), nor once a draft was
    approved (it goes out as approved). An organisation's edit is audited as `scheduled.edit`."""
    if staff is not None and await needs_review(ctx, author, staff.role):
        raise Forbidden("An author's post waits for review: submit a new draft instead")
    async with ctx.db.transaction() as session:
        row = await scheduled_of(session, author.id, scheduled_id, for_update=True)
        if row is None:
            raise NotFound("Record not found")
        if row.review_state is not None or "approval" in row.params:
            raise Unprocessable("Validation failed: a draft is changed through its review")
        before, after = apply_edit(ctx, row, change)
        if staff is not None:
            await record_audit(
                session, staff, "scheduled.edit", target=f"scheduled:{row.id}", before=before, after=after
            )
    return row


async def publish_scheduled(ctx: Context, scheduled_id: int) -> Status | None:
    """Publish a scheduled status that has come due; None when it is gone (cancelled, or published by an
    earlier run of its job). Before its time (moved later meanwhile) the job waits again (RetryJob); a
    status that can no longer be posted (its parent deleted, say) is dropped and the job failed."""
    async with ctx.db.read() as session:
        scheduled = await session.get(ScheduledStatus, scheduled_id)
        author = await session.get(Account, scheduled.account_id) if scheduled is not None else None
    if scheduled is None or author is None:
        return None
    if scheduled.review_state is not None:
        return None  # a draft waiting for review (its job was queued before it was returned)
    if scheduled.scheduled_at > utcnow():
        raise RetryJob(scheduled.scheduled_at, error="not due yet (moved)")
    draft = params_to_draft(scheduled.params)
    approval = scheduled.params.get("approval")
    if isinstance(approval, dict):  # an approved draft: the audit trail names the publisher who let it out
        ACTING_STAFF.set(ActingStaff(**approval))
    try:
        return await post_status(
            ctx,
            author,
            scheduled_status_id=scheduled.id,
            **draft_arguments(draft),
        )
    except ActionError as refusal:
        async with ctx.db.transaction() as session:
            if not await consume(session, scheduled.id):
                return None  # published (or cancelled) meanwhile: that was the NotFound
        logger.info("scheduled status %s of %s dropped: %s", scheduled.id, author.uri, refusal)
        raise JobFailed(f"not publishable: {refusal}") from refusal
