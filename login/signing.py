"""Signed values of the HTML forms: the CSRF token, an HMAC-SHA256 under the instance's `secrets.secret_key`
of what binds the form to one browser — the login session's token once signed in (a synchronizer token:
another site can neither read it nor plant it), else a random cookie set with the form (double submit).
Each signed value has its own purpose label, so one can never stand in for another."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from storage.context import Context

CSRF_COOKIE = "plein_csrf"


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


def csrf_token(ctx: Context, binding: str) -> str:
    """The form token that goes with a binding (session token or CSRF cookie value)."""
    return sign(ctx, "csrf", binding)


def csrf_valid(ctx: Context, binding: str | None, form_token: str | None) -> bool:
    """True when the posted token belongs to this browser's binding."""
    if not binding or not form_token:
        return False
    return hmac.compare_digest(csrf_token(ctx, binding), form_token)
