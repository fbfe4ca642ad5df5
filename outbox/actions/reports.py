"""A local user's report: stored for moderators and, when asked and the reported account is remote,
forwarded to its server as a `Flag` from the instance actor (the reporter stays anonymous, as Mastodon does)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from apub.builders import build_activity
from outbox.actions._unit import Effects, after_commit, record_activity, urls_of
from outbox.addressing import DeliveryTargets
from outbox.errors import NotFound, Unprocessable, ValidationCode
from storage.accounts import ensure_instance_actor
from storage.context import Context
from storage.instance_rules import unknown_rule_ids
from storage.models import Account, Report, Status
from storage.statuses import can_see

REPORT_CATEGORIES = ("spam", "legal", "violation", "other")
MAX_REPORT_COMMENT = 1000  # Mastodon's limit for a local report's comment
MAX_REPORTED_STATUSES = 100


@dataclass
class ReportRequest:
    target_id: int
    status_ids: list[int] = field(default_factory=list)
    comment: str = ""
    category: str = "other"
    forward: bool = False
    rule_ids: list[int] = field(default_factory=list)  # citing rules makes it a `violation` report


async def file_report(ctx: Context, reporter: Account, request: ReportRequest) -> Report:
    """Store the report, and in the same transaction the `Flag` and its delivery job when forwarded."""
    if request.category not in REPORT_CATEGORIES:
        raise Unprocessable(
            f"Validation failed: category must be one of {', '.join(REPORT_CATEGORIES)}",
            field="category",
            code=ValidationCode.INCLUSION,
        )
    if len(request.comment) > MAX_REPORT_COMMENT:
        raise Unprocessable(
            f"Validation failed: comment is too long (maximum is {MAX_REPORT_COMMENT} characters)",
            field="comment",
            code=ValidationCode.TOO_LONG,
        )
    if len(request.status_ids) > MAX_REPORTED_STATUSES:
        raise Unprocessable(
            f"Validation failed: at most {MAX_REPORTED_STATUSES} statuses per report",
            field="status_ids",
            code=ValidationCode.TOO_LONG,
        )
    # As Mastodon: a report citing rules is a violation report, whatever category was sent.
    category = "violation" if request.rule_ids else request.category
    if category == "violation" and not request.rule_ids:
        raise Unprocessable(
            "Validation failed: a violation report must cite the rules broken (rule_ids)",
            field="rule_ids",
            code=ValidationCode.BLANK,
        )
    effects = Effects()
    async with ctx.db.transaction() as session:
        unknown = await unknown_rule_ids(session, request.rule_ids)
        if unknown:
            raise Unprocessable(
                f"Validation failed: rule_ids {', '.join(map(str, unknown))} are not rules of this server",
                field="rule_ids",
                code=ValidationCode.INCLUSION,
            )
        target = await session.get(Account, request.target_id)
        if target is None or target.suspended_at is not None:
            raise NotFound("Record not found")
        statuses = list(
            (
                await session.execute(
                    select(Status).where(Status.id.in_(request.status_ids), Status.account_id == target.id)
                )
            ).scalars()
        )
        # As Mastodon: every cited status must be one of the target's that the reporter can see, else 404.
        visible = [status for status in statuses if await can_see(session, reporter.id, status)]
        if len(visible) != len(set(request.status_ids)):
            raise NotFound("Record not found")
        forward = request.forward and target.domain is not None
        report = Report(
            account_id=reporter.id,
            target_account_id=target.id,
            status_ids=[status.id for status in visible],
            comment=request.comment,
            category=category,
            forwarded=forward,
            rule_ids=sorted(set(request.rule_ids)),
        )
        session.add(report)
        await session.flush()
        if forward:
            actor = await ensure_instance_actor(session, urls_of(ctx))
            cited = [target.uri, *(status.uri for status in visible)]
            targets = DeliveryTargets()
            targets.add_account(target, personal=True)
            await record_activity(
                session,
                effects,
                ctx=ctx,
                actor=actor,
                activity_type="Flag",
                build=lambda uri: {
                    **build_activity("Flag", uri, actor.uri, cited),
                    "content": request.comment,
                },
                targets=targets,
                visibility="direct",
            )
        session.expunge(report)
    after_commit(ctx, effects)
    return report
