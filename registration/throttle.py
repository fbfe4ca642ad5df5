"""Rate limits of sign-ups and reset requests, on the failed-login records (`storage.oauth`): the same
table, window and retention as login throttling, under their own keys."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from registration.errors import TooManyAttempts
from storage.oauth import count_recent_login_failures, record_login_failure
from storage.types import utcnow

WINDOW = timedelta(minutes=30)
# As Mastodon's rack-attack defaults: a handful of sign-ups per address per half hour.
MAX_SIGN_UPS_PER_ADDRESS = 5
MAX_RESETS_PER_ADDRESS = 5
MAX_RESETS_PER_EMAIL = 3


async def count_attempt(
    session: AsyncSession, action: str, keys: list[tuple[str, int]], message: str
) -> None:
    """Record one `action` attempt under each (key, limit); raises TooManyAttempts, recording nothing, when
    any key already reached its limit within the window."""
    since = utcnow() - WINDOW
    scoped = [(f"{action}:{key}"[:320], limit) for key, limit in keys]
    for key, limit in scoped:
        if await count_recent_login_failures(session, key, since) >= limit:
            raise TooManyAttempts(message, retry_after=int(WINDOW.total_seconds()))
    await record_login_failure(session, [key for key, _ in scoped])
