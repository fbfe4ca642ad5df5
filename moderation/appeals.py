"""Appeals, as Mastodon's: the warned account appeals one of its warnings once, with a text, within 20 days
(`storage.appeals`); a moderator approves it — the warning's measure is lifted where it still holds and can be
(a suspension, a limit, forced-sensitive media, a disabled login; removed posts stay removed) and the warning
is marked overruled — or rejects it. A new appeal is mailed to the moderators and admins (when `[mail]` is
set), as Mastodon's AppealService mails those who may manage appeals. The account is told the decision (a notification on its web
notifications page; a mail when asked for in `[mail]` and its address is confirmed). Each step is one
transaction with its audit entry (`appeal.create`, `appeal.approve`, `appeal.reject`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from moderation.accounts import apply_in
from moderation.errors import AppealRefused, ModerationError, NothingToUndo
from moderation.permissions import NotPermitted, check_may_moderate
from moderation.warnings import staff_account_id
from outbox.actions._unit import Effects, after_commit
from storage.accounts import user_for_account
from storage.appeals import MAX_APPEAL_TEXT, staff_told_of_appeals, why_not_appealable
from storage.audit import add_audit_entry
from storage.context import Context
from storage.mail_queue import MailKind, enqueue_mail
from storage.models import Account, AccountWarning, Appeal, Notification, User
from storage.types import utcnow

# What approving an appeal undoes, by the warning's action: the lifting action of `moderation.accounts`.
UNDO = {"suspend": "unsuspend", "silence": "unsilence", "sensitive": "unsensitive", "disable": "enable"}
# The notifications of a decision: shown on the web notifications page only (no Mastodon type says this;
# apps read the decision in the `moderation_warning`'s `appeal.state`).
DECISION_NOTIFICATIONS = {True: "appeal_approved", False: "appeal_rejected"}


_REFUSALS = {
    "appealed": "This warning has been appealed already",
    "overruled": "This warning has been overruled already",
    "too_late": "A warning can only be appealed within 20 days",
}


def _acct(account: Account) -> str:
    return account.username + (f"@{account.domain}" if account.domain else "")


async def appeal_warning(ctx: Context, warning_id: int, account: Account, text: str) -> Appeal:
    """`account` appeals its warning `warning_id` with `text` (stripped; 1–2,000 characters). NothingToUndo
    (404) for no such warning, NotPermitted (403) for another account's, AppealRefused (422) otherwise."""
    text = text.replace("\r\n", "\n").strip()
    if not text:
        raise AppealRefused("blank", "An appeal needs a text saying why the decision is wrong")
    if len(text) > MAX_APPEAL_TEXT:
        raise AppealRefused("too_long", f"An appeal is at most {MAX_APPEAL_TEXT} characters")
    async with ctx.db.transaction() as session:
        warning = await session.get(AccountWarning, warning_id)
        if warning is None:
            raise NothingToUndo(f"no warning {warning_id}")
        if warning.target_account_id != account.id:
            raise NotPermitted("Only the warned account appeals its warning")
        existing = await session.scalar(select(Appeal).where(Appeal.account_warning_id == warning.id))
        problem = why_not_appealable(warning, existing, utcnow())
        if problem is not None:
            raise AppealRefused(problem, _REFUSALS[problem])
        appeal = Appeal(account_id=account.id, account_warning_id=warning.id, text=text)
        session.add(appeal)
        await session.flush()
        await add_audit_entry(
            session,
            actor=f"@{account.username}",
            action="appeal.create",
            target=f"account:{account.id}",
            details={"appeal_id": str(appeal.id), "warning_id": str(warning.id), "action": warning.action},
        )
        if ctx.settings.mail.host:
            # Mastodon mails staff of a new appeal rather than notifying them; the waiting appeals are also
            # counted on the moderation index.
            for staff_user_id in await staff_told_of_appeals(session):
                await enqueue_mail(session, MailKind.NEW_APPEAL, staff_user_id, account_warning_id=warning.id)
    return appeal


async def _tell(
    session: AsyncSession, ctx: Context, account: Account, warning: AccountWarning, approved: bool
) -> None:
    """The decision's notification and, when mail is on and the address confirmed, its mail."""
    if account.domain is not None:
        return
    session.add(
        Notification(
            account_id=account.id,
            from_account_id=account.id,
            notification_type=DECISION_NOTIFICATIONS[approved],
            account_warning_id=warning.id,
        )
    )
    user: User | None = await user_for_account(session, account.id)
    if ctx.settings.mail.host and user is not None and user.email and user.confirmed_at is not None:
        kind = MailKind.APPEAL_APPROVED if approved else MailKind.APPEAL_REJECTED
        await enqueue_mail(session, kind, user.id, account_warning_id=warning.id)


async def decide_appeal(
    ctx: Context, appeal_id: int, *, approve: bool, actor: str, actor_role: str
) -> Appeal:
    """Approve (undoing the warning's measure where it still holds) or reject a pending appeal, as a staff
    member of `actor_role` (NotPermitted when that role may not act against the account); audited and told
    to the account. NothingToUndo (404) for no such appeal, ModerationError (422) for one decided already."""
    async with ctx.db.read() as session:
        target_id = await session.scalar(select(Appeal.account_id).where(Appeal.id == appeal_id))
    if target_id is None:
        raise NothingToUndo(f"no appeal {appeal_id}")
    await check_may_moderate(ctx, actor_role, target_id)
    effects = Effects()
    async with ctx.db.transaction() as session:
        appeal = await session.get(Appeal, appeal_id)
        if appeal is None:
            raise NothingToUndo(f"no appeal {appeal_id}")
        if appeal.approved_at is not None or appeal.rejected_at is not None:
            raise ModerationError("This appeal has been decided already")
        warning = await session.get(AccountWarning, appeal.account_warning_id)
        account = await session.get(Account, appeal.account_id)
        assert warning is not None and account is not None  # both cascade to the appeal
        staff_id = await staff_account_id(session, actor)
        undone = None
        if approve:
            undone = await _undo(session, ctx, account, warning.action, effects)
            warning.overruled_at = appeal.approved_at = utcnow()
            appeal.approved_by_account_id = staff_id
        else:
            appeal.rejected_at = utcnow()
            appeal.rejected_by_account_id = staff_id
        await add_audit_entry(
            session,
            actor=actor,
            action="appeal.approve" if approve else "appeal.reject",
            target=f"account:{account.id}",
            details={
                "appeal_id": str(appeal.id),
                "warning_id": str(warning.id),
                "action": warning.action,
                "undone": undone,
                "acct": _acct(account),
            },
        )
        await _tell(session, ctx, account, warning, approve)
    after_commit(ctx, effects)  # a lifted suspension's actor Update
    return appeal


async def _undo(
    session: AsyncSession, ctx: Context, account: Account, action: str, effects: Effects
) -> str | None:
    """Lift the warning's measure when it still holds; the lifting action taken, or None (nothing to lift:
    a plain warning, removed posts, or a measure lifted meanwhile)."""
    lifting = UNDO.get(action)
    if lifting is None:
        return None
    try:  # apply_in refuses before it changes anything
        await apply_in(session, ctx, account, lifting, effects)
    except ModerationError:
        return None  # lifted meanwhile (or no login left to enable): nothing to undo
    return lifting
