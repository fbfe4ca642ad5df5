"""Staff actions on a local account's login: change its role (admins only, checked by the caller through
`moderation.permissions`) and reset its second factor (TOTP) for someone locked out. Each is one
transaction with its audit entry; the CLI (`plein account promote`), the admin API and the web moderation
pages call these."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from moderation.errors import ModerationError, NothingToUndo
from moderation.permissions import ROLES
from storage.accounts import user_for_account
from storage.audit import add_audit_entry
from storage.context import Context
from storage.models import Account, User
from storage.oauth import AUTHORITY_CHANGED


async def _local_login(session: AsyncSession, account_id: int) -> tuple[Account, User]:
    account = await session.get(Account, account_id)
    user = await user_for_account(session, account_id) if account is not None else None
    if account is None or user is None:
        raise NothingToUndo(f"no local account {account_id}")
    return account, user


async def change_role(ctx: Context, account_id: int, role: str, *, actor: str) -> Account:
    """Give the local account's login `role` (user, moderator or admin)."""
    if role not in ROLES:
        raise ModerationError(f"role must be one of {', '.join(ROLES)}")
    async with ctx.db.transaction() as session:
        account, user = await _local_login(session, account_id)
        before, user.role = user.role, role
        await add_audit_entry(
            session,
            actor=actor,
            action="account.role",
            target=f"account:{account.id}",
            details={"acct": account.username, "before": before, "after": role},
        )
    ctx.bus.publish(AUTHORITY_CHANGED)  # what open streams may see follows the new role
    return account


async def reset_second_factor(ctx: Context, account_id: int, *, actor: str, note: str = "") -> Account:
    """Turn off the login's TOTP and its recovery codes: it signs in with the password alone and may set
    up a new second factor. Refused (422) when none is set up."""
    async with ctx.db.transaction() as session:
        account, user = await _local_login(session, account_id)
        if user.totp_secret is None and user.totp_enabled_at is None:
            raise ModerationError("the account has no second factor")
        user.totp_secret, user.totp_enabled_at, user.recovery_code_hashes = None, None, None
        await add_audit_entry(
            session,
            actor=actor,
            action="account.reset_second_factor",
            target=f"account:{account.id}",
            details={"acct": account.username, "note": note},
        )
    return account
