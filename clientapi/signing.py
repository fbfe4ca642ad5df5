"""Signed values for the login pages: the CSRF token bound to a cookie, and the login session cookie.

Both are HMAC-SHA256 under the instance's `secrets.secret_key`, each with its own purpose label so one can
never stand in for the other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from storage.context import Context

CSRF_COOKIE = "plein_csrf"
SESSION_COOKIE = "plein_session"
SESSION_LIFETIME_SECONDS = 14 * 24 * 3600


def _secret_key(ctx: Context) -> bytes:
    configured = ctx.settings.secrets.secret_key
    if configured:
        return configured.encode()
    # No configured key (a development set-up): a random one for this process keeps forms safe, at the cost
    # of logging people out on restart.
    return ctx.caches.setdefault("signing.fallback_key", secrets.token_bytes(32))


def sign(ctx: Context, purpose: str, value: str) -> str:
    """The URL-safe HMAC of `value` for `purpose`."""
    digest = hmac.new(_secret_key(ctx), f"{purpose}\x00{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def new_csrf_cookie() -> str:
    """A fresh random value for the CSRF cookie."""
    return secrets.token_urlsafe(24)


def csrf_token(ctx: Context, cookie_value: str) -> str:
    """The form token that goes with a CSRF cookie value."""
    return sign(ctx, "csrf", cookie_value)


def csrf_valid(ctx: Context, cookie_value: str | None, form_token: str | None) -> bool:
    """True when the posted token belongs to the browser's CSRF cookie."""
    if not cookie_value or not form_token:
        return False
    return hmac.compare_digest(csrf_token(ctx, cookie_value), form_token)


@dataclass(frozen=True)
class LoginSession:
    user_id: int
    issued_at: int


def session_cookie(ctx: Context, user_id: int, *, now: int | None = None) -> str:
    """A signed `user_id.issued_at.signature` cookie value."""
    issued_at = int(time.time()) if now is None else now
    payload = f"{user_id}.{issued_at}"
    return f"{payload}.{sign(ctx, 'session', payload)}"


def read_session(ctx: Context, cookie_value: str | None) -> LoginSession | None:
    """The login session of a valid, unexpired cookie, else None."""
    if not cookie_value or cookie_value.count(".") != 2:
        return None
    user_id, issued_at, signature = cookie_value.split(".")
    if not (user_id.isdigit() and issued_at.isdigit()):
        return None
    if not hmac.compare_digest(sign(ctx, "session", f"{user_id}.{issued_at}"), signature):
        return None
    if int(issued_at) + SESSION_LIFETIME_SECONDS < time.time():
        return None
    return LoginSession(user_id=int(user_id), issued_at=int(issued_at))
