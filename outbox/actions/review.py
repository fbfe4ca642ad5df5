"""Review before publishing, for organisations that require it (storage.organisations, docs/ORGANISATIONS.md).

An author's post becomes a draft (a scheduled status in review, with no `publish` job) checked now as posting
it would be. A publisher approves it — its `publish` job is queued in the approval's transaction, due now or
at the time chosen, and the post then goes out as the organisation with the audit trail naming the approver
— or returns it with a comment, which reaches the author as a direct message from the organisation (every
app shows one; Mastodon has no notification type for it). Each step is an entry in the audit trail.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from outbox.actions.scheduled import (
    Draft,
    DraftChange,
    apply_edit,
    check_draft,
    check_draft_in,
    check_schedule_time,
    draft_params,
    hold_media,
)
from outbox.actions.statuses import post_status
from outbox.errors import Forbidden, NotFound, Unprocessable
from storage.acting import ActingStaff
from storage.context import Context
from storage.models import Account, ScheduledStatus, User
from storage.organisations import record_audit
from storage.scheduled_statuses import add_review_draft, queue_publication, scheduled_with_key
from storage.types import utcnow

PENDING = "pending"
RETURNED = "returned"


async def submit_for_review(
    ctx: Context,
    organisation: Account,
    staff: ActingStaff,
    draft: Draft,
    *,
    wanted_at: datetime | None = None,
    idempotency_key: str | None = None,
) -> ScheduledStatus:
    """Keep an author's post as a draft for review (the time they asked for, if any, is a suggestion the
    approving publisher can keep)."""
    check_draft(ctx, draft)
    async with ctx.db.transaction() as session:
        if idempotency_key:
            existing = await scheduled_with_key(session, organisation.id, idempotency_key)
            if existing is not None:
                return existing
        await check_draft_in(session, organisation, draft, utcnow())
        params = draft_params(draft, idempotency_key)
        if wanted_at is not None:
            params["scheduled_at"] = wanted_at.isoformat()
        assert staff.user_id is not None
        row = await add_review_draft(session, organisation.id, staff.user_id, params, wanted_at or utcnow())
        await hold_media(session, row.id, organisation, draft)
        await record_audit(session, staff, "draft.submit", target=f"draft:{row.id}", after=params)
    return row


def _require_publisher(staff: ActingStaff | None) -> ActingStaff:
    if staff is None or staff.role not in ("publisher", "admin"):
        raise Forbidden("Only a publisher of the organisation reviews its drafts")
    return staff


async def _draft_of(session: object, organisation: Account, draft_id: int) -> ScheduledStatus:
    row = await session.get(ScheduledStatus, draft_id, with_for_update=True)  # type: ignore[attr-defined]
    if row is None or row.account_id != organisation.id or row.review_state is None:
        raise NotFound("Record not found: no such draft waiting for review")
    return row


async def approve_draft(
    ctx: Context,
    organisation: Account,
    staff: ActingStaff | None,
    draft_id: int,
    *,
    at: datetime | None = None,
) -> ScheduledStatus:
    """Let a draft out: its `publish` job is queued now, due at `at` (or the time the author asked for, if
    still ahead; else at once)."""
    approver = _require_publisher(staff)
    if at is not None:
        check_schedule_time(at)
    async with ctx.db.transaction() as session:
        row = await _draft_of(session, organisation, draft_id)
        if row.review_state != PENDING:
            raise Unprocessable("Validation failed: this draft was returned to its author")
        wanted = row.params.get("scheduled_at")
        due = at or (row.scheduled_at if wanted and row.scheduled_at > utcnow() else utcnow())
        row.scheduled_at = due
        row.review_state = None
        row.params = {**row.params, "scheduled_at": None, "approval": asdict(approver)}
        await queue_publication(session, row)
        await record_audit(
            session,
            approver,
            "draft.approve",
            target=f"draft:{row.id}",
            after={"publish_at": due.isoformat()},
        )
    return row


async def return_draft(
    ctx: Context, organisation: Account, staff: ActingStaff | None, draft_id: int, comment: str
) -> ScheduledStatus:
    """Send a draft back to its author with `comment` (a direct message from the organisation to them)."""
    reviewer = _require_publisher(staff)
    comment = comment.strip()
    if not comment:
        raise Unprocessable("Validation failed: say why the draft goes back (comment)")
    async with ctx.db.transaction() as session:
        row = await _draft_of(session, organisation, draft_id)
        if row.review_state != PENDING:
            raise Unprocessable("Validation failed: this draft was returned already")
        row.review_state = RETURNED
        row.review_comment = comment
        author_user = await session.get(User, row.submitted_by_user_id) if row.submitted_by_user_id else None
        author = await session.get(Account, author_user.account_id) if author_user else None
        await record_audit(
            session, reviewer, "draft.return", target=f"draft:{row.id}", after={"comment": comment}
        )
    if author is not None:
        await post_status(
            ctx,
            organisation,
            text=f"@{author.username} {comment} (draft {row.id})",
            visibility="direct",
        )
    return row


async def edit_draft(
    ctx: Context,
    organisation: Account,
    staff: ActingStaff | None,
    draft_id: int,
    change: DraftChange,
) -> ScheduledStatus:
    """Change a draft's text, content warning, visibility, language and other languages in place
    (`apply_edit`), checked as posting it would be: by a publisher, or by the draft's
    author (whose edit of a returned draft sends it back for review). Audited as `draft.edit` with the
    fields before and after."""
    if staff is None:
        raise Forbidden("Only a publisher of the organisation or the draft's author edits a draft")
    async with ctx.db.transaction() as session:
        row = await _draft_of(session, organisation, draft_id)
        is_author = staff.user_id is not None and staff.user_id == row.submitted_by_user_id
        if staff.role not in ("publisher", "admin") and not is_author:
            raise Forbidden("Only a publisher of the organisation or the draft's author edits a draft")
        before, after = apply_edit(ctx, row, change)
        if row.review_state == RETURNED and is_author:  # corrected: back in the queue
            row.review_state = PENDING
            row.review_comment = None
        await record_audit(session, staff, "draft.edit", target=f"draft:{row.id}", before=before, after=after)
    return row
