"""Checking the second factor of a login (a TOTP code or a recovery code), throttled like the password."""

from __future__ import annotations

from login.credentials import FAILURE_WINDOW, MAX_FAILURES_PER_LOGIN, LoginThrottled
from login.totp import code_matches, remaining_after_recovery_code
from storage.context import Context
from storage.models import User
from storage.oauth import count_recent_login_failures, forget_login_failures, record_login_failure
from storage.types import utcnow


async def check_second_factor(ctx: Context, user_id: int, code: str) -> bool:
    """Whether `code` is the user's current TOTP code or one of their unused recovery codes (which is then
    used up). Raises LoginThrottled after too many recent wrong codes, before looking at this one."""
    key = f"second-factor:{user_id}"
    async with ctx.db.transaction() as session:
        failures = await count_recent_login_failures(session, key, utcnow() - FAILURE_WINDOW)
        if failures >= MAX_FAILURES_PER_LOGIN:
            raise LoginThrottled(
                "Too many wrong codes; try again later", retry_after=int(FAILURE_WINDOW.total_seconds())
            )
        user = await session.get(User, user_id, with_for_update=True)
        if user is None or user.totp_secret is None or user.totp_enabled_at is None:
            return False
        if code_matches(user.totp_secret, code):
            await forget_login_failures(session, key)
            return True
        remaining = remaining_after_recovery_code(user, code)
        if remaining is not None:
            user.recovery_code_hashes = remaining
            await forget_login_failures(session, key)
            return True
        await record_login_failure(session, [key])
    return False
