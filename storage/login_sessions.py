"""Queries of the web interface's login sessions (`login_sessions`): one row per signed-in browser, found by
the SHA-256 of the random token its cookie holds, so a stolen database holds no usable cookie."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import LoginSession, User
from storage.types import utcnow

# How long a browser stays signed in without being used, and at most in all.
IDLE_LIFETIME = timedelta(days=14)
MAX_LIFETIME = timedelta(days=90)
# How long the step between the password and the second factor may take.
SECOND_FACTOR_LIFETIME = timedelta(minutes=5)
# `last_seen_at` is written at most this often, so reading pages does not write on every request.
SEEN_GRANULARITY = timedelta(minutes=5)


def token_hash(token: str) -> str:
    """The stored form of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


async def create_login_session(
    session: AsyncSession, user: User, *, user_agent: str, second_factor_done: bool
) -> tuple[LoginSession, str]:
    """A new session row for `user` and the token its cookie carries (shown once, stored hashed)."""
    token = secrets.token_urlsafe(32)
    row = LoginSession(
        user_id=user.id,
        token_hash=token_hash(token),
        user_agent=user_agent[:256],
        second_factor_done=second_factor_done,
    )
    session.add(row)
    await session.flush()
    return row, token


def session_is_live(row: LoginSession, user: User, now: datetime) -> bool:
    """Whether `row` still signs its user in: not idle too long, not too old, not older than the user's last
    password change, and past the second factor unless it is only waiting for it."""
    if row.last_seen_at + IDLE_LIFETIME < now or row.created_at + MAX_LIFETIME < now:
        return False
    if not row.second_factor_done and row.created_at + SECOND_FACTOR_LIFETIME < now:
        return False
    return user.password_changed_at is None or user.password_changed_at <= row.created_at


async def login_session_by_token(session: AsyncSession, token: str) -> tuple[LoginSession, User] | None:
    """The live session a cookie token names, with its user; None for an unknown, expired or outdated one."""
    row = (
        await session.execute(
            select(LoginSession, User)
            .join(User, User.id == LoginSession.user_id)
            .where(LoginSession.token_hash == token_hash(token))
        )
    ).first()
    if row is None or not session_is_live(row[0], row[1], utcnow()):
        return None
    return row[0], row[1]


async def mark_seen(session: AsyncSession, session_id: int, now: datetime) -> None:
    """Record that the session was used now."""
    await session.execute(update(LoginSession).where(LoginSession.id == session_id).values(last_seen_at=now))


async def set_acting(session: AsyncSession, session_id: int, account_id: int | None) -> None:
    """Make the session act as `account_id` (an organisation its login belongs to; None: its own account)."""
    await session.execute(
        update(LoginSession).where(LoginSession.id == session_id).values(acting_account_id=account_id)
    )


async def finish_second_factor(session: AsyncSession, session_id: int) -> str:
    """Mark a session past its second factor under a fresh token (the one seen before the second factor
    no longer signs in); returns the new token."""
    token = secrets.token_urlsafe(32)
    await session.execute(
        update(LoginSession)
        .where(LoginSession.id == session_id)
        .values(second_factor_done=True, token_hash=token_hash(token), last_seen_at=utcnow())
    )
    return token


async def user_login_sessions(session: AsyncSession, user_id: int) -> list[LoginSession]:
    """The user's signed-in browsers, the most recently used first."""
    rows = await session.execute(
        select(LoginSession)
        .where(LoginSession.user_id == user_id, LoginSession.second_factor_done.is_(True))
        .order_by(LoginSession.last_seen_at.desc())
    )
    return list(rows.scalars())


async def end_login_session(session: AsyncSession, user_id: int, session_id: int) -> bool:
    """Sign one of the user's browsers out; False when the user has no such session."""
    result = await session.execute(
        delete(LoginSession).where(LoginSession.id == session_id, LoginSession.user_id == user_id)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def end_other_login_sessions(session: AsyncSession, user_id: int, keep_id: int | None) -> None:
    """Sign every browser of the user out but `keep_id` (after a password change, a 2FA change)."""
    statement = delete(LoginSession).where(LoginSession.user_id == user_id)
    if keep_id is not None:
        statement = statement.where(LoginSession.id != keep_id)
    await session.execute(statement)
