"""Queries and writes of OAuth2: applications, authorization codes, access tokens, login attempts.

Secrets never reach the database in the clear: client secrets, codes and access tokens are stored as their
SHA-256 (they are long random strings, so a fast hash is enough); passwords are argon2id (storage.passwords).
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.bus import Event
from storage.models import Account, LoginAttempt, OAuthApp, OAuthCode, OAuthToken, User
from storage.types import utcnow

CODE_LIFETIME = timedelta(minutes=10)
# Published after a commit that revoked tokens, changed a password or suspended an account: open streams of
# this process re-check their token at once (clientapi.stream_authority; other processes find out by polling).
AUTHORITY_CHANGED = Event(topic="authority", kind="changed")


def secret_digest(secret: str) -> str:
    """The hex SHA-256 under which a client secret, code or token is stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    """A fresh random secret (43 URL-safe characters, 256 bits)."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class TokenOwner:
    """What an access token is: the token row, its app, and for user tokens the user and account."""

    token: OAuthToken
    app: OAuthApp | None
    user: User | None
    account: Account | None


async def create_app(
    session: AsyncSession, *, name: str, redirect_uris: list[str], scopes: str, website: str | None
) -> tuple[OAuthApp, str]:
    """Register a client application; returns the row and its client secret (shown once)."""
    client_secret = new_secret()
    app = OAuthApp(
        name=name,
        website=website,
        redirect_uris=redirect_uris,
        scopes=scopes,
        client_id=new_secret(),
        client_secret_hash=secret_digest(client_secret),
    )
    session.add(app)
    await session.flush()
    return app, client_secret


async def app_by_client_id(session: AsyncSession, client_id: str) -> OAuthApp | None:
    """The application with this public client id, or None."""
    return (
        await session.execute(select(OAuthApp).where(OAuthApp.client_id == client_id))
    ).scalar_one_or_none()


async def authenticate_client(session: AsyncSession, client_id: str, client_secret: str) -> OAuthApp | None:
    """The application when `client_secret` is its secret (compared in constant time), else None."""
    app = await app_by_client_id(session, client_id)
    if app is None or not secrets.compare_digest(app.client_secret_hash, secret_digest(client_secret)):
        return None
    return app


async def create_code(
    session: AsyncSession,
    *,
    app: OAuthApp,
    user: User,
    redirect_uri: str,
    scopes: str,
    code_challenge: str | None,
    code_challenge_method: str | None,
    acting_account_id: int | None = None,
) -> str:
    """Store a one-time authorization code (valid ten minutes); returns the code. With
    `acting_account_id`, its token acts for that organisation of the user's."""
    code = new_secret()
    session.add(
        OAuthCode(
            code_hash=secret_digest(code),
            app_id=app.id,
            user_id=user.id,
            acting_account_id=acting_account_id,
            redirect_uri=redirect_uri,
            scopes=scopes,
            code_challenge=code_challenge,
            code_challenge_method=code_challenge_method,
            expires_at=utcnow() + CODE_LIFETIME,
        )
    )
    await session.flush()
    return code


async def take_code(session: AsyncSession, code: str, app: OAuthApp) -> OAuthCode | None:
    """Consume an authorization code issued to `app`: None if unknown, expired, used or someone else's.

    The row is marked used in the caller's transaction, so a code can be exchanged once only. A code
    presented again after its use may have been stolen: every token issued from it is revoked in the
    caller's transaction (RFC 6749 §4.1.2), which must therefore commit even though the answer is None."""
    row = await session.get(OAuthCode, secret_digest(code), with_for_update=True)
    if row is not None and row.used_at is not None:
        await session.execute(
            update(OAuthToken)
            .where(OAuthToken.code_hash == row.code_hash, OAuthToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        return None
    if row is None or row.app_id != app.id or row.expires_at <= utcnow():
        return None
    row.used_at = utcnow()
    await session.flush()
    return row


async def create_token(
    session: AsyncSession,
    *,
    app: OAuthApp | None,
    user: User | None,
    scopes: str,
    code: OAuthCode | None = None,
    acting_account_id: int | None = None,
) -> tuple[OAuthToken, str]:
    """Issue an access token (from authorization `code` when given, acting for the organisation the code
    names); returns the row and the token itself (only its digest is stored)."""
    access_token = new_secret()
    token = OAuthToken(
        token_hash=secret_digest(access_token),
        app_id=app.id if app else None,
        user_id=user.id if user else None,
        acting_account_id=code.acting_account_id if code else acting_account_id,
        scopes=scopes,
        code_hash=code.code_hash if code else None,
    )
    session.add(token)
    await session.flush()
    return token, access_token


async def token_owner(session: AsyncSession, access_token: str) -> TokenOwner | None:
    """The live token `access_token` with its app, user and account; None when unknown or revoked, or when
    the user's password changed after the token was issued."""
    row = (
        await session.execute(
            select(OAuthToken, OAuthApp, User, Account)
            .outerjoin(OAuthApp, OAuthApp.id == OAuthToken.app_id)
            .outerjoin(User, User.id == OAuthToken.user_id)
            # A member's token for an organisation acts as the organisation.
            .outerjoin(Account, Account.id == func.coalesce(OAuthToken.acting_account_id, User.account_id))
            .where(OAuthToken.token_hash == secret_digest(access_token), OAuthToken.revoked_at.is_(None))
        )
    ).one_or_none()
    if row is None:
        return None
    token, app, user, account = row
    if token.user_id is not None and (user is None or account is None):
        return None
    if (
        user is not None
        and user.password_changed_at is not None
        and token.created_at < user.password_changed_at
    ):
        return None
    return TokenOwner(token=token, app=app, user=user, account=account)


def token_still_valid(token_id: Any) -> ColumnElement[bool]:
    """SQL condition: user token `token_id` (an id or a bound parameter) may still act — it is not revoked,
    its user's password has not changed since it was issued (as `token_owner` decides), and its account is
    not suspended and its user approved, not disabled, with a confirmed e-mail address.

    A statement that ANDs this in returns no rows once the token is dead, so a caller holding a remembered
    `TokenGrant` learns it in the same round trip as its own query (see `TokenGrantCache`)."""
    # Aliases, and no correlation: the enclosing query may join `accounts` for its own reasons.
    token = aliased(OAuthToken, name="live_token")
    user = aliased(User, name="live_user")
    account = aliased(Account, name="live_account")
    return (
        select(token.id)
        .join(user, user.id == token.user_id)
        .join(account, account.id == func.coalesce(token.acting_account_id, user.account_id))
        .where(
            token.id == token_id,
            token.revoked_at.is_(None),
            user.approved.is_(True),
            user.confirmed_at.is_not(None),
            user.disabled_at.is_(None),
            or_(user.password_changed_at.is_(None), token.created_at >= user.password_changed_at),
            account.suspended_at.is_(None),
        )
        .correlate(None)
        .exists()
    )


@functools.cache
def _token_is_live_statement() -> Select[tuple[bool]]:
    # Built once per process: the three aliases of `token_still_valid` cost several milliseconds of CPU to
    # build, and every open stream's watcher re-checks its token every few seconds (bench/crisis.py: with
    # 200 streams this was most of a web process's CPU).
    return select(token_still_valid(bindparam("token_id")))


async def token_is_live(session: AsyncSession, token_id: int) -> bool:
    """Whether user token `token_id` may still act (`token_still_valid`, as one indexed read)."""
    return bool(await session.scalar(_token_is_live_statement(), {"token_id": token_id}))


@dataclass(frozen=True)
class TokenGrant:
    """What a user token lets its bearer do and as whom; none of it changes during the token's life."""

    token_id: int
    account_id: int
    scopes: frozenset[str]


class TokenGrantCache:
    """Token digest → `TokenGrant`, for one process, at most `capacity` entries (least recently used go).

    It remembers only what never changes for a token (its id, account and scopes), never whether the token
    is still live: a reader must AND `token_still_valid(grant.token_id)` into its query and, when that query
    comes back empty, look the token up afresh (an empty result and a dead token look alike). So revocation,
    a password change or a suspension — in this process or another — takes effect at the next request."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._grants: OrderedDict[str, TokenGrant] = OrderedDict()

    def get(self, access_token: str) -> TokenGrant | None:
        """The remembered grant of `access_token`, or None."""
        digest = secret_digest(access_token)
        grant = self._grants.get(digest)
        if grant is not None:
            self._grants.move_to_end(digest)
        return grant

    def put(self, access_token: str, grant: TokenGrant) -> None:
        """Remember `grant` (of a token just found live) for `access_token`."""
        self._grants[secret_digest(access_token)] = grant
        if len(self._grants) > self._capacity:
            self._grants.popitem(last=False)

    def forget(self, access_token: str) -> None:
        """Drop `access_token`'s grant (it was found dead)."""
        self._grants.pop(secret_digest(access_token), None)


async def revoke_token(session: AsyncSession, access_token: str, app: OAuthApp) -> bool:
    """Revoke a token of `app`; True when one was revoked (RFC 7009: unknown tokens are not an error)."""
    result = await session.execute(
        update(OAuthToken)
        .where(
            OAuthToken.token_hash == secret_digest(access_token),
            OAuthToken.app_id == app.id,
            OAuthToken.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def revoke_user_tokens(session: AsyncSession, user_id: int) -> None:
    """Revoke every live token of a user (after a password change)."""
    await session.execute(
        update(OAuthToken)
        .where(OAuthToken.user_id == user_id, OAuthToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def authorised_apps(
    session: AsyncSession, user_id: int
) -> list[tuple[OAuthApp, datetime, datetime | None]]:
    """The apps holding a live token of the user: (app, first authorised, last used), newest first."""
    rows = await session.execute(
        select(OAuthApp, func.min(OAuthToken.created_at), func.max(OAuthToken.last_used_at))
        .join(OAuthToken, OAuthToken.app_id == OAuthApp.id)
        .where(OAuthToken.user_id == user_id, OAuthToken.revoked_at.is_(None))
        .group_by(OAuthApp.id)
        .order_by(func.min(OAuthToken.created_at).desc())
    )
    return [(app, first, last) for app, first, last in rows]


async def revoke_app_for_user(session: AsyncSession, user_id: int, app_id: int) -> bool:
    """Revoke every live token the user gave `app_id`; False when there was none."""
    result = await session.execute(
        update(OAuthToken)
        .where(OAuthToken.user_id == user_id, OAuthToken.app_id == app_id, OAuthToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def user_by_login(session: AsyncSession, login: str) -> tuple[User, Account] | None:
    """The local user whose username or e-mail address is `login` (case-insensitive)."""
    lowered = login.strip().lstrip("@").lower()
    statement = (
        select(User, Account)
        .join(Account, Account.id == User.account_id)
        .where(
            Account.domain.is_(None),
            (func.lower(Account.username) == lowered) | (func.lower(User.email) == lowered),
        )
    )
    row = (await session.execute(statement)).first()
    return (row[0], row[1]) if row else None


async def count_recent_login_failures(session: AsyncSession, key: str, since: datetime) -> int:
    """How many failed logins were recorded for `key` since `since`."""
    statement = select(func.count()).where(LoginAttempt.key == key, LoginAttempt.created_at >= since)
    return int((await session.execute(statement)).scalar_one())


async def record_login_failure(session: AsyncSession, keys: list[str]) -> None:
    """Record one failed login under each key (the login name and the client address)."""
    for key in keys:
        session.add(LoginAttempt(key=key[:320]))
    await session.flush()


async def forget_login_failures(session: AsyncSession, key: str) -> None:
    """Clear the recorded failures of `key` (after a successful login)."""
    await session.execute(delete(LoginAttempt).where(LoginAttempt.key == key))
