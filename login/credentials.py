"""Checking a login name and password, with failed attempts rate limited per login and per client address:
the one check of the OAuth password grant, the OAuth consent page and the web login."""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta

from storage.context import Context
from storage.models import Account, User
from storage.oauth import (
    count_recent_login_failures,
    forget_login_failures,
    record_login_failure,
    user_by_login,
)
from storage.passwords import hash_password, make_hasher, verify_password
from storage.types import utcnow

FAILURE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_LOGIN = 5
MAX_FAILURES_PER_ADDRESS = 20


class LoginFailed(Exception):
    """Wrong login name or password (deliberately not saying which)."""


class LoginThrottled(Exception):
    """Too many recent failures for this login or client address: no password is checked."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


def _keys(login: str, client_address: str | None) -> tuple[str, str | None]:
    login_key = f"login:{login.strip().lstrip('@').lower()}"
    address_key = f"address:{client_address}" if client_address else None
    return login_key, address_key


def _unknown_login_hash(ctx: Context) -> str:
    cached = ctx.caches.get("login.unknown_login_hash")
    if cached is None:
        cached = ctx.caches["login.unknown_login_hash"] = hash_password(make_hasher(), secrets.token_hex(16))
    return str(cached)


async def check_login(
    ctx: Context, login: str, password: str, client_address: str | None
) -> tuple[User, Account]:
    """The user and account for these credentials. Raises LoginThrottled after too many recent failures for
    this login or address (checked before the password, so guessing stops), LoginFailed otherwise."""
    login_key, address_key = _keys(login, client_address)
    since = utcnow() - FAILURE_WINDOW
    async with ctx.db.read() as session:
        login_failures = await count_recent_login_failures(session, login_key, since)
        address_failures = (
            await count_recent_login_failures(session, address_key, since) if address_key else 0
        )
        found = await user_by_login(session, login) if login.strip() else None
    if login_failures >= MAX_FAILURES_PER_LOGIN or address_failures >= MAX_FAILURES_PER_ADDRESS:
        raise LoginThrottled(
            "Too many failed login attempts; try again later", retry_after=int(FAILURE_WINDOW.total_seconds())
        )
    # argon2 takes tens of milliseconds of CPU: keep the event loop free. An unknown login is checked
    # against a throw-away hash, so the answer takes as long as for a known one (no account probing).
    password_hash = found[0].password_hash if found is not None else _unknown_login_hash(ctx)
    valid = await asyncio.to_thread(verify_password, make_hasher(), password_hash, password)
    valid = valid and found is not None
    async with ctx.db.transaction() as session:
        if not valid or found is None:
            await record_login_failure(session, [key for key in (login_key, address_key) if key])
        else:
            await forget_login_failures(session, login_key)
    if not valid or found is None:
        raise LoginFailed("Invalid login or password")
    return found
