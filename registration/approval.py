"""Admins approve or reject sign-ups waiting in `approval` mode (`plein account approve|reject`, the admin
API); each is one transaction with its audit entry."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from registration.errors import NotFound
from registration.mail_jobs import MailKind, enqueue_mail
from storage.accounts import local_account_by_username
from storage.audit import add_audit_entry
from storage.context import Context
from storage.models import Account, User
from storage.settings import Settings


async def _pending(session: AsyncSession, account: Account | None) -> User:
    user = (
        (await session.execute(select(User).where(User.account_id == account.id))).scalar_one_or_none()
        if account is not None
        else None
    )
    if account is None or user is None or user.approved:
        raise NotFound("No sign-up waiting for approval by that name")
    return user


async def pending_sign_ups(ctx: Context) -> list[tuple[Account, User]]:
    """Sign-ups waiting for an admin, oldest first."""
    async with ctx.db.read() as session:
        rows = await session.execute(
            select(Account, User)
            .join(User, User.account_id == Account.id)
            .where(User.approved.is_(False))
            .order_by(User.created_at)
        )
        return [(account, user) for account, user in rows]


async def approve_sign_up(
    ctx: Context, *, account_id: int | None = None, username: str | None = None, actor: str
) -> Account:
    """Let a waiting sign-up in; it is mailed (when mail is configured and its address confirmed)."""
    async with ctx.db.transaction() as session:
        account = await _find(session, account_id, username)
        user = await _pending(session, account)
        assert account is not None
        user.approved = True
        await add_audit_entry(
            session, actor=actor, action="account.approve", target=f"@{account.username}", details={}
        )
        if _mail_on(ctx.settings) and user.confirmed_at is not None:
            await enqueue_mail(session, MailKind.APPROVED, user.id)
    return account


async def reject_sign_up(
    ctx: Context, *, account_id: int | None = None, username: str | None = None, actor: str
) -> str:
    """Turn a waiting sign-up away: its account and login are deleted (it never federated anything, so
    nobody else needs telling). Returns the username."""
    async with ctx.db.transaction() as session:
        account = await _find(session, account_id, username)
        await _pending(session, account)
        assert account is not None
        name = account.username
        await session.execute(delete(Account).where(Account.id == account.id))
        await add_audit_entry(session, actor=actor, action="account.reject", target=f"@{name}", details={})
    return name


async def _find(session: AsyncSession, account_id: int | None, username: str | None) -> Account | None:
    if account_id is not None:
        account = await session.get(Account, account_id)
        return account if account is not None and account.domain is None else None
    return await local_account_by_username(session, username or "")


def _mail_on(settings: Settings) -> bool:
    return bool(settings.mail.host)
