"""Moderating one account (local or remote) outside a report: warn, silence, suspend and lift those. Each is
ONE transaction that changes the account and writes its audit entry; the CLI (`plein account suspend`) and
the admin API (`POST /api/v1/admin/accounts/:id/action`, `…/unsuspend`, `…/unsilence`) call these."""

from __future__ import annotations

from moderation.errors import ModerationError, NothingToUndo
from moderation.reports import lift_suspension_in, suspend_account_in
from outbox.actions._unit import Effects, after_commit
from storage.audit import add_audit_entry
from storage.context import Context
from storage.models import Account
from storage.oauth import AUTHORITY_CHANGED
from storage.types import utcnow

ACTIONS = ("none", "silence", "suspend", "unsilence", "unsuspend")


class _DryRun(Exception):  # noqa: N818 - carries the account out of the transaction it rolls back
    def __init__(self, account: Account) -> None:
        super().__init__("dry run")
        self.account = account


def _acct(account: Account) -> str:
    return account.username + (f"@{account.domain}" if account.domain else "")


async def moderate_account(
    ctx: Context, account_id: int, action: str, *, actor: str, text: str = "", dry_run: bool = False
) -> Account:
    """Apply `action` to the account: `none` only records a warning (with `text`); silencing or suspending
    an account already so, or lifting what is not there, is refused (422). A dry run changes nothing."""
    if action not in ACTIONS:
        raise ModerationError(f"action must be one of {', '.join(ACTIONS)}")
    effects = Effects()
    try:
        return await _moderate(
            ctx, account_id, action, actor=actor, text=text, dry_run=dry_run, effects=effects
        )
    except _DryRun as rolled_back:
        return rolled_back.account


async def _moderate(
    ctx: Context, account_id: int, action: str, *, actor: str, text: str, dry_run: bool, effects: Effects
) -> Account:
    async with ctx.db.transaction() as session:
        account = await session.get(Account, account_id)
        if account is None:
            raise NothingToUndo(f"no account {account_id}")
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
        if dry_run:
            raise _DryRun(account)
        await add_audit_entry(
            session,
            actor=actor,
            action=f"account.{'warn' if action == 'none' else action}",
            target=f"account:{account.id}",
            details={"text": text, "acct": _acct(account)},
        )
    after_commit(ctx, effects)  # a local account's actor Update of its (lifted) suspension
    if action == "suspend":
        ctx.bus.publish(AUTHORITY_CHANGED)  # a suspended local user's streams end now
    return account
