"""The optional second factor of the web login: a TOTP code (RFC 6238, 30 s, 6 digits, as every
authenticator app makes) or one of ten one-time recovery codes, kept as SHA-256 hashes (they are random
and long, so a slow hash adds nothing)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

import pyotp

from storage.models import User

RECOVERY_CODES = 10
ISSUER = "Plein"


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, account_name: str, issuer: str) -> str:
    """The `otpauth://` URI an authenticator app reads (typed in, or as a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=account_name, issuer_name=issuer)


def code_matches(secret: str, code: str) -> bool:
    """Whether `code` is the current TOTP code of `secret` (the code before or after it too: clocks drift)."""
    cleaned = code.replace(" ", "").strip()
    return cleaned.isdigit() and len(cleaned) == 6 and pyotp.TOTP(secret).verify(cleaned, valid_window=1)


def _hash(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").replace(" ", "").lower().encode()).hexdigest()


def new_recovery_codes() -> tuple[list[str], list[str]]:
    """Ten fresh recovery codes to show once, and their hashes to store."""
    codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODES)]
    return codes, [_hash(code) for code in codes]


def remaining_after_recovery_code(user: User, code: str) -> list[str] | None:
    """The stored hashes without the one `code` matches (it is used up), or None when it matches none."""
    wanted = _hash(code)
    hashes = [str(stored) for stored in user.recovery_code_hashes or []]
    for stored in hashes:
        if hmac.compare_digest(stored, wanted):
            return [other for other in hashes if other != stored]
    return None
