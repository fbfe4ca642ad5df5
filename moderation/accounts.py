"""Moderating one account (local or remote) outside a report: warn, disable the login, mark the media
sensitive, silence, suspend, and lift those. Each is ONE transaction that changes the account, writes its
audit entry and, when the action is told to the account (`moderation.warnings.is_warned`), its warning; the
CLI (`plein account suspend`), the admin API (`POST /api/v1/admin/accounts/:id/action`, `…/unsuspend`,
`…/unsilence`, `…/enable`, `…/unsensitive`) and the web account page call these."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from moderation.errors import ModerationError, NothingToUndo
from moderation.reports import lift_suspension_in, open_report_in, resolve_in, suspend_account_in
from moderation.warnings import SILENT, Telling, is_warned, warn_in
from outbox.actions._unit import Effects, after_commit
from storage.accounts import user_for_account
from storage.audit import add_audit_entry
from storage.context import Context
from storage.login_sessions import end_other_login_sessions
from storage.models import Account, User
from storage.oauth import AUTHORITY_CHANGED
from storage.types import utcnow

ACTIONS = (
    "none",
    "disable",
    "enable",
    "sensitive",
    "unsensitive",
    "silence",
    "unsilence",
    "suspend",
    "unsuspend",
)
# Actions after which what a login's open streams and sessions may do has changed.
_AUTHORITY_ACTIONS = frozenset({"suspend", "disable"})


class _DryRun(Exception):  # noqa: N818 - carries the account out of the transaction it rolls back
    def __init__(self, account: Account) -> None:
        super().__init__("dry run")
        self.account = account


def _acct(account: Account) -> str:
    return account.username + (f"@{account.domain}" if account.domain else "")


async def moderate_account(
    ctx: Context,
    account_id: int,
    action: str,
    *,
    actor: str,
    text: str = "",
    telling: Telling = SILENT,
    report_id: int | None = None,
    dry_run: bool = False,
) -> Account:
    """Apply `action` to the account: `none` only warns (with `text`); doing what is done already, or lifting
    what is not there, is refused (422), as is disabling a remote account (it has no login here). With
    `telling` on and a `text` or the e-mail asked for, the account is told (`moderation.warnings`). With `report_id`, the action is that
    open report's about the account, and resolves it. A dry run changes nothing."""
    if action not in ACTIONS:
        raise ModerationError(f"action must be one of {', '.join(ACTIONS)}")
    effects = Effects()
    try:
        account = await _moderate(
            ctx,
            account_id,
            action,
            actor=actor,
            text=text,
            telling=telling,
            report_id=report_id,
            dry_run=dry_run,
            effects=effects,
        )
    except _DryRun as rolled_back:
        return rolled_back.account
    after_commit(ctx, effects)  # a local account's actor Update of its (lifted) suspension, a warning
    if action in _AUTHORITY_ACTIONS:
        ctx.bus.publish(AUTHORITY_CHANGED)  # a suspended or disabled login's streams end now
    return account


async def _login_of(session: AsyncSession, account: Account) -> User:
    user = await user_for_account(session, account.id) if account.domain is None else None
    if user is None:
        raise ModerationError("only a local account has a login to disable or enable")
    return user


async def apply_in(
    session: AsyncSession, ctx: Context, account: Account, action: str, effects: Effects
) -> None:
    """Change the account as `action` says, in the caller's transaction (ModerationError when pointless)."""
    if action == "suspend":
        if account.suspended_at is not None:
            raise ModerationError("the account is already suspended")
        await suspend_account_in(session, account, ctx, effects)
    elif action == "unsuspend":
        if account.suspended_at is None:
            raise ModerationError("the account is not suspended")
        await lift_suspension_in(session, account, ctx, effects)
    elif action == "silence":
        if account.silenced_at is not None:
            raise ModerationError("the account is already silenced")
        account.silenced_at = utcnow()
    elif action == "unsilence":
        if account.silenced_at is None:
            raise ModerationError("the account is not silenced")
        account.silenced_at = None
    elif action == "sensitive":
        if account.sensitized_at is not None:
            raise ModerationError("the account's media are already marked sensitive")
        account.sensitized_at = utcnow()
    elif action == "unsensitive":
        if account.sensitized_at is None:
            raise ModerationError("the account's media are not marked sensitive")
        account.sensitized_at = None
    elif action == "disable":
        user = await _login_of(session, account)
        if user.disabled_at is not None:
            raise ModerationError("the login is already disabled")
        user.disabled_at = utcnow()
        # Its browsers are signed out now; its tokens are kept but refused while it is disabled (as
        # Mastodon), so enabling it again brings its apps back.
        await end_other_login_sessions(session, user.id, None)
    elif action == "enable":
        user = await _login_of(session, account)
        if user.disabled_at is None:
            raise ModerationError("the login is not disabled")
        user.disabled_at = None


async def _moderate(
    ctx: Context,
    account_id: int,
    action: str,
    *,
    actor: str,
    text: str,
    telling: Telling,
    report_id: int | None,
    dry_run: bool,
    effects: Effects,
) -> Account:
    async with ctx.db.transaction() as session:
        account = await session.get(Account, account_id)
        if account is None:
            raise NothingToUndo(f"no account {account_id}")
        report = None
        if report_id is not None:
            report, reported = await open_report_in(session, report_id)
            if reported.id != account.id:
                raise ModerationError(f"report {report_id} is about another account")
        await apply_in(session, ctx, account, action, effects)
        if dry_run:
            raise _DryRun(account)
        await add_audit_entry(
            session,
            actor=actor,
            action=f"account.{'warn' if action == 'none' else action}",
            target=f"account:{account.id}",
            details={"text": text, "acct": _acct(account)},
        )
        if report is not None:
            await resolve_in(session, report, actor=actor, action=f"report.{action}", note=text)
        if is_warned(action, text, telling):
            event = await warn_in(
                session,
                ctx,
                account,
                action,
                actor=actor,
                text=text,
                send_email=telling.send_email,
                report_id=report.id if report is not None else None,
                status_ids=[int(status_id) for status_id in report.status_ids or []] if report else [],
            )
            if event is not None:
                effects.events.append(event)
    return account
