"""Acting on a report: resolve it with a note, or take one action against what it reports (suspend or silence
the account, delete the reported statuses), which also resolves it. Each is one transaction with its audit
entry, as Mastodon's report actions are; the report keeps who resolved it. With `tell`, an action is told to
the reported account, the note being the moderators' message (`moderation.warnings`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from moderation.errors import ModerationError, NothingToUndo
from moderation.warnings import SILENT, Telling, is_warned, staff_account_id, warn_in
from outbox.actions._unit import Effects, after_commit
from outbox.actions.profile import send_actor_update
from outbox.actions.statuses import delete_status_in
from storage.accounts import user_for_account
from storage.audit import add_audit_entry
from storage.context import Context
from storage.fanout import restore_author_to_home_feeds
from storage.follows import remove_author_from_home_feed
from storage.models import Account, Report, Status
from storage.oauth import AUTHORITY_CHANGED, revoke_user_tokens
from storage.types import utcnow


async def open_report_in(session: AsyncSession, report_id: int) -> tuple[Report, Account]:
    """The open report and the account it is about (NothingToUndo / ModerationError otherwise)."""
    report = await session.get(Report, report_id)
    if report is None:
        raise NothingToUndo(f"no report {report_id}")
    if report.resolved_at is not None:
        raise ModerationError(f"report {report_id} is already resolved")
    target = await session.get(Account, report.target_account_id)
    assert target is not None  # the foreign key cascades
    return report, target


async def resolve_in(session: AsyncSession, report: Report, *, actor: str, action: str, note: str) -> None:
    """Mark the report resolved by `actor` with `note`, audited as `action`, in the caller's transaction."""
    report.resolved_at = utcnow()
    report.resolution_note = note
    report.action_taken_by_account_id = await staff_account_id(session, actor)
    await add_audit_entry(
        session,
        actor=actor,
        action=action,
        target=f"report:{report.id}",
        details={"note": note, "target_account_id": str(report.target_account_id)},
    )


async def suspend_account_in(session: AsyncSession, account: Account, ctx: Context, effects: Effects) -> None:
    """Suspend `account` in the caller's transaction: a local user's tokens go, and home feeds (which page
    their feed rows before the statuses) lose its posts. As Mastodon's SuspendAccountService, a local
    account's followers' servers are told: `Update` of its actor, now with `suspended: true`."""
    account.suspended_at = utcnow()
    user = await user_for_account(session, account.id) if account.domain is None else None
    if user is not None:
        await revoke_user_tokens(session, user.id)
    await remove_author_from_home_feed(session, None, account.id)
    if account.domain is None:
        await send_actor_update(session, effects, ctx, account)


async def lift_suspension_in(session: AsyncSession, account: Account, ctx: Context, effects: Effects) -> None:
    """Lift a suspension in the caller's transaction: the newest posts return to the feeds, and a local
    account's followers' servers get its actor again without `suspended` (Mastodon's
    UnsuspendAccountService)."""
    account.suspended_at = None
    await restore_author_to_home_feeds(session, account)
    if account.domain is None:
        await send_actor_update(session, effects, ctx, account)


async def assign_report(ctx: Context, report_id: int, assignee_id: int | None, *, actor: str) -> None:
    """Assign the report to the account `assignee_id` (a moderator taking it), or, with None, to nobody."""
    async with ctx.db.transaction() as session:
        report = await session.get(Report, report_id)
        if report is None:
            raise NothingToUndo(f"no report {report_id}")
        report.assigned_account_id = assignee_id
        await add_audit_entry(
            session,
            actor=actor,
            action="report.assign" if assignee_id is not None else "report.unassign",
            target=f"report:{report.id}",
            details={"assigned_account_id": str(assignee_id) if assignee_id is not None else None},
        )


async def reopen_report(ctx: Context, report_id: int, *, actor: str) -> None:
    """Open a resolved report again (what was done stays done)."""
    async with ctx.db.transaction() as session:
        report = await session.get(Report, report_id)
        if report is None:
            raise NothingToUndo(f"no report {report_id}")
        if report.resolved_at is None:
            raise ModerationError(f"report {report_id} is open")
        report.resolved_at = None
        report.action_taken_by_account_id = None
        await add_audit_entry(
            session,
            actor=actor,
            action="report.reopen",
            target=f"report:{report.id}",
            details={"target_account_id": str(report.target_account_id)},
        )


async def resolve_report(ctx: Context, report_id: int, *, actor: str, note: str = "") -> None:
    async with ctx.db.transaction() as session:
        report, _ = await open_report_in(session, report_id)
        await resolve_in(session, report, actor=actor, action="report.resolve", note=note)


async def _tell(
    session: AsyncSession,
    ctx: Context,
    effects: Effects,
    report: Report,
    target: Account,
    warning_action: str,
    *,
    actor: str,
    note: str,
    telling: Telling,
) -> None:
    if not is_warned(warning_action, note, telling):
        return
    event = await warn_in(
        session,
        ctx,
        target,
        warning_action,
        actor=actor,
        text=note,
        send_email=telling.send_email,
        report_id=report.id,
        status_ids=[int(status_id) for status_id in report.status_ids or []],
    )
    if event is not None:
        effects.events.append(event)


# An account warning names a report action as Mastodon does; a plain warning's is "none".
_WARNING_ACTIONS = {"warn": "none"}


@dataclass(frozen=True)
class _ReportAction:
    """An action on an open report, inside its transaction."""

    session: AsyncSession
    effects: Effects
    report: Report
    target: Account


@asynccontextmanager
async def _resolving(
    ctx: Context, report_id: int, action: str, *, actor: str, note: str, telling: Telling
) -> AsyncIterator[_ReportAction]:
    """The frame of each action that resolves a report: the open report and its target in one transaction;
    after the action, the report resolved (audited as `report.<action>`) and the target told as `telling`
    says (under the account warning's name for `action`); the effects run once it commits."""
    effects = Effects()
    async with ctx.db.transaction() as session:
        report, target = await open_report_in(session, report_id)
        yield _ReportAction(session, effects, report, target)
        await resolve_in(session, report, actor=actor, action=f"report.{action}", note=note)
        await _tell(
            session,
            ctx,
            effects,
            report,
            target,
            _WARNING_ACTIONS.get(action, action),
            actor=actor,
            note=note,
            telling=telling,
        )
    after_commit(ctx, effects)


async def suspend_reported_account(
    ctx: Context, report_id: int, *, actor: str, note: str = "", telling: Telling = SILENT
) -> None:
    """Suspend the reported account (`suspend_account_in`); its open streams end."""
    async with _resolving(ctx, report_id, "suspend", actor=actor, note=note, telling=telling) as done:
        await suspend_account_in(done.session, done.target, ctx, done.effects)
    ctx.bus.publish(AUTHORITY_CHANGED)  # a suspended local user's streams end now


async def silence_reported_account(
    ctx: Context, report_id: int, *, actor: str, note: str = "", telling: Telling = SILENT
) -> None:
    """Limit (silence) the reported account, as Mastodon's report action does."""
    async with _resolving(ctx, report_id, "silence", actor=actor, note=note, telling=telling) as done:
        done.target.silenced_at = utcnow()


async def delete_reported_statuses(
    ctx: Context, report_id: int, *, actor: str, note: str = "", telling: Telling = SILENT
) -> int:
    """Delete the statuses the report cites (still there); the number deleted."""
    async with _resolving(ctx, report_id, "delete_statuses", actor=actor, note=note, telling=telling) as done:
        statuses = list(
            (
                await done.session.execute(
                    select(Status).where(
                        Status.id.in_(done.report.status_ids or []),
                        Status.account_id == done.target.id,
                        Status.deleted_at.is_(None),
                    )
                )
            ).scalars()
        )
        for status in statuses:
            await delete_status_in(done.session, ctx, done.effects, status)
    return len(statuses)


async def warn_reported_account(
    ctx: Context, report_id: int, *, actor: str, note: str = "", telling: Telling = SILENT
) -> None:
    """Resolve the report with a warning to its target on record (`note` is the warning's text)."""
    async with _resolving(ctx, report_id, "warn", actor=actor, note=note, telling=telling):
        pass  # the warning is the frame's telling


# What a moderator may do with an open report, each resolving it: Mastodon's report actions (a warning,
# limit, suspend, delete the cited posts) and a plain resolve with a note.
REPORT_ACTIONS = ("resolve", "warn", "silence", "suspend", "delete_statuses")


async def act_on_report(
    ctx: Context, report_id: int, action: str, *, actor: str, note: str = "", telling: Telling = SILENT
) -> None:
    """Take one of REPORT_ACTIONS on the report (ModerationError for another, or a resolved report)."""
    if action == "resolve":
        await resolve_report(ctx, report_id, actor=actor, note=note)
    elif action == "warn":
        await warn_reported_account(ctx, report_id, actor=actor, note=note, telling=telling)
    elif action == "silence":
        await silence_reported_account(ctx, report_id, actor=actor, note=note, telling=telling)
    elif action == "suspend":
        await suspend_reported_account(ctx, report_id, actor=actor, note=note, telling=telling)
    elif action == "delete_statuses":
        await delete_reported_statuses(ctx, report_id, actor=actor, note=note, telling=telling)
    else:
        raise ModerationError(f"action must be one of {', '.join(REPORT_ACTIONS)}")
