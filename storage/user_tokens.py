"""Single-use secrets mailed to a user — the e-mail confirmation and the password reset link.

Only the SHA-256 of a token is stored, so a copy of the database opens no account. A token works once,
before it expires; redeeming one of a purpose spends every other of the same purpose too, so an older link
left in a mailbox is dead once a newer one was used.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import User, UserToken
from storage.oauth import new_secret, secret_digest
from storage.types import utcnow


class TokenPurpose(StrEnum):
    """What a mailed token lets its holder do, and how long it lives."""

    CONFIRM = "confirm"
    RESET = "reset"

    @property
    def lifetime(self) -> timedelta:
        # A reset link opens the account to whoever reads the mail: short. A confirmation only proves the
        # address, and people read mail late.
        return timedelta(hours=2) if self is TokenPurpose.RESET else timedelta(days=2)


async def issue_user_token(session: AsyncSession, user_id: int, purpose: TokenPurpose) -> str:
    """A new token for `user_id` (in the caller's transaction); returns the secret, which is not stored."""
    secret = new_secret()
    session.add(
        UserToken(
            user_id=user_id,
            purpose=purpose.value,
            token_hash=secret_digest(secret),
            expires_at=utcnow() + purpose.lifetime,
        )
    )
    await session.flush()
    return secret


async def peek_user_token(session: AsyncSession, secret: str, purpose: TokenPurpose) -> User | None:
    """The user a live (unused, unexpired) token of `purpose` belongs to, without spending it."""
    statement = (
        select(User)
        .join(UserToken, UserToken.user_id == User.id)
        .where(
            UserToken.token_hash == secret_digest(secret),
            UserToken.purpose == purpose.value,
            UserToken.used_at.is_(None),
            UserToken.expires_at > utcnow(),
        )
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def redeem_user_token(session: AsyncSession, secret: str, purpose: TokenPurpose) -> User | None:
    """Spend a live token of `purpose` (and every other of its user's of that purpose); its user, or None
    when the token is unknown, used or expired. The UPDATE's own condition makes a second, racing redemption
    of the same token find nothing."""
    now = utcnow()
    spent = await session.execute(
        update(UserToken)
        .where(
            UserToken.token_hash == secret_digest(secret),
            UserToken.purpose == purpose.value,
            UserToken.used_at.is_(None),
            UserToken.expires_at > now,
        )
        .values(used_at=now)
        .returning(UserToken.user_id)
    )
    user_id = spent.scalar_one_or_none()
    if user_id is None:
        return None
    await spend_user_tokens(session, user_id, purpose)
    return await session.get(User, user_id)


async def spend_user_tokens(session: AsyncSession, user_id: int, purpose: TokenPurpose) -> None:
    """Make every live token of `purpose` of a user unusable."""
    await session.execute(
        update(UserToken)
        .where(UserToken.user_id == user_id, UserToken.purpose == purpose.value, UserToken.used_at.is_(None))
        .values(used_at=utcnow())
    )
