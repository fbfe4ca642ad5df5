"""Confirming an e-mail address and resetting a forgotten password with the single-use tokens the `mail`
queue sends (`storage.user_tokens`).

A reset request answers the same whether or not the address belongs to an account (no probing for who has
one here); a reset revokes every token and session of the account, as a password change does.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from outbox.errors import ValidationCode
from registration.errors import AlreadyConfirmed, RegistrationError
from registration.mail_jobs import MailKind, enqueue_mail
from registration.signup import check_password, mail_configured
from registration.throttle import MAX_RESETS_PER_ADDRESS, MAX_RESETS_PER_EMAIL, count_attempt
from storage.accounts import EMAIL_PATTERN, MAX_EMAIL
from storage.context import Context
from storage.login_sessions import end_other_login_sessions
from storage.models import Account, User
from storage.oauth import AUTHORITY_CHANGED, revoke_user_tokens
from storage.passwords import hash_password, make_hasher
from storage.types import utcnow
from storage.user_tokens import TokenPurpose, peek_user_token, redeem_user_token, spend_user_tokens


class InvalidToken(RegistrationError):
    """The link's token is unknown, used or expired (the pages say so; the link cannot be used again)."""


async def confirm_email(ctx: Context, secret: str) -> Account:
    """Confirm the address the token was mailed to; the confirmed account. Raises InvalidToken."""
    async with ctx.db.transaction() as session:
        user = await redeem_user_token(session, secret, TokenPurpose.CONFIRM) if secret else None
        if user is None:
            raise InvalidToken(
                "This confirmation link is invalid, used or expired", field="confirmation_token"
            )
        if user.confirmed_at is None:
            user.confirmed_at = utcnow()
        account = await session.get(Account, user.account_id)
        assert account is not None
    return account


async def resend_confirmation(ctx: Context, user_id: int, *, email: str | None = None) -> None:
    """Mail a new confirmation link to a user still waiting for one, to `email` if given (a typo at
    sign-up); earlier links stop working. Raises AlreadyConfirmed, RegistrationError for a bad address."""
    if email is not None and (len(email) > MAX_EMAIL or not EMAIL_PATTERN.match(email)):
        raise RegistrationError("Email is invalid", field="email")
    async with ctx.db.transaction() as session:
        user = await session.get(User, user_id)
        assert user is not None
        if user.confirmed_at is not None:
            raise AlreadyConfirmed("This method is only available while the e-mail is awaiting confirmation")
        if email is not None and email.lower() != (user.email or "").lower():
            taken = await session.scalar(select(User.id).where(func.lower(User.email) == email.lower()))
            if taken is not None:
                raise RegistrationError(
                    "Email has already been taken", field="email", code=ValidationCode.TAKEN
                )
            user.email = email
        await spend_user_tokens(session, user.id, TokenPurpose.CONFIRM)
        if mail_configured(ctx.settings):
            await enqueue_mail(session, MailKind.CONFIRM, user.id)
        else:
            user.confirmed_at = utcnow()  # mail was switched off since the sign-up: nothing can confirm it


async def request_password_reset(ctx: Context, email: str, *, client_address: str | None) -> None:
    """Queue a reset link for the account with this address, if there is one and mail is configured.
    Answers alike either way (raises only TooManyAttempts, counted per address and per e-mail address)."""
    email = email.strip()
    keys = [(f"email:{email.lower()}", MAX_RESETS_PER_EMAIL)]
    if client_address:
        keys.append((f"address:{client_address}", MAX_RESETS_PER_ADDRESS))
    async with ctx.db.transaction() as session:
        await count_attempt(session, "reset", keys, "Too many password reset requests; try again later")
    if not email or not mail_configured(ctx.settings):
        return
    async with ctx.db.transaction() as session:
        user = (
            await session.execute(
                select(User)
                .join(Account, Account.id == User.account_id)
                .where(func.lower(User.email) == email.lower(), Account.suspended_at.is_(None))
            )
        ).scalar_one_or_none()
        if user is not None:
            await enqueue_mail(session, MailKind.RESET, user.id)


async def reset_token_is_live(ctx: Context, secret: str) -> bool:
    """Whether a reset link may still be used (the new-password form is shown only then)."""
    if not secret:
        return False
    async with ctx.db.read() as session:
        return await peek_user_token(session, secret, TokenPurpose.RESET) is not None


async def reset_password(ctx: Context, secret: str, new_password: str) -> Account:
    """Set a new password with a reset token: the token is spent, and every token and session of the
    account revoked. Raises InvalidToken or RegistrationError (a bad password; the token stays usable)."""
    check_password(new_password)
    password_hash = await asyncio.to_thread(hash_password, make_hasher(), new_password)
    async with ctx.db.transaction() as session:
        user = await redeem_user_token(session, secret, TokenPurpose.RESET) if secret else None
        if user is None:
            raise InvalidToken(
                "This password reset link is invalid, used or expired", field="reset_password_token"
            )
        await _set_password(session, user, password_hash, keep_session_id=None)
        # The link proved the mailbox: the address is confirmed too.
        if user.confirmed_at is None:
            user.confirmed_at = utcnow()
        account = await session.get(Account, user.account_id)
        assert account is not None
    ctx.bus.publish(AUTHORITY_CHANGED)
    return account


async def _set_password(
    session: AsyncSession, user: User, password_hash: str, *, keep_session_id: int | None
) -> None:
    """The new password, and every access token and web session made with the old one ended (but
    `keep_session_id`, the browser that changed it, which the caller starts anew)."""
    user.password_hash = password_hash
    user.password_changed_at = utcnow()
    await revoke_user_tokens(session, user.id)
    await end_other_login_sessions(session, user.id, keep_id=keep_session_id)


async def change_password(ctx: Context, user_id: int, new_password: str) -> None:
    """A signed-in user's new password (the caller checked the current one): every token and web session
    ends; the caller signs its own browser in again. Raises RegistrationError for a bad password."""
    check_password(new_password)
    password_hash = await asyncio.to_thread(hash_password, make_hasher(), new_password)
    async with ctx.db.transaction() as session:
        user = await session.get(User, user_id)
        assert user is not None
        await _set_password(session, user, password_hash, keep_session_id=None)
    ctx.bus.publish(AUTHORITY_CHANGED)
