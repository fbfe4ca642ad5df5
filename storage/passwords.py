"""Password hashing with argon2id (argon2-cffi's defaults follow RFC 9106's recommendations)."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


def make_hasher() -> PasswordHasher:
    """A hasher with argon2-cffi's default (RFC 9106 low-memory) parameters."""
    return PasswordHasher()


def hash_password(hasher: PasswordHasher, password: str) -> str:
    """The argon2id hash of `password`."""
    return hasher.hash(password)


def verify_password(hasher: PasswordHasher, password_hash: str, password: str) -> bool:
    """True when `password` matches; never raises for a wrong or corrupt hash."""
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    """A random password to print once for a new account."""
    return secrets.token_urlsafe(18)
