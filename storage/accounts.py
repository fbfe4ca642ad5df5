"""Queries and writes on the account aggregate (accounts, users, local keys)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from apub.errors import InvalidHost
from apub.hosts import canonical_host
from apub.keys import (
    generate_ed25519_private_key_pem,
    generate_rsa_private_key_pem,
    public_key_pem_from_private_pem,
)
from storage.models import Account, LocalKey, User
from storage.types import utcnow
from storage.urls import LocalUrls

USERNAME_PATTERN = re.compile(r"^[a-z0-9_]{1,30}$", re.IGNORECASE)
# An e-mail address as sign-ups and the instance's contact address must be written (RFC 5321's local-part
# limit, a dotted domain); at most MAX_EMAIL characters.
EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")
MAX_EMAIL = 320
# Names that would collide with our own routes or confuse people.
RESERVED_USERNAMES = frozenset(
    {"admin", "administrator", "root", "actor", "inbox", "outbox", "api", "oauth", "about", "instance", "www"}
)
INSTANCE_ACTOR_USERNAME = "instance.actor"  # the dot keeps it out of reach of real usernames


class AccountError(ValueError):
    """A requested account change that cannot be made (bad or taken username, unknown account)."""


@dataclass(frozen=True)
class LocalSigningKeys:
    """What the signer needs for one local actor."""

    actor_uri: str
    rsa_key_id: str
    rsa_private_pem: str
    ed25519_key_id: str
    ed25519_private_pem: str


def validate_username(username: str) -> str:
    """Return the username if it may be registered, else raise AccountError."""
    if not USERNAME_PATTERN.match(username):
        raise AccountError("username must be 1-30 letters, digits or underscores")
    if username.lower() in RESERVED_USERNAMES:
        raise AccountError(f"username {username!r} is reserved")
    return username


def may_sign_in(user: User, account: Account) -> bool:
    """Whether a login with the right password may start a session or get a token: its account is not
    suspended, its login not disabled by the moderators, its sign-up approved and its e-mail address
    confirmed (the one rule of every login path)."""
    return (
        account.suspended_at is None
        and user.disabled_at is None
        and user.approved
        and user.confirmed_at is not None
    )


def restricted_by_moderators(user: User, account: Account) -> bool:
    """Whether the moderators locked this login out (its account suspended, its login disabled): refused
    by `may_sign_in`, it may still sign in to the web's restricted session to read and appeal the decision,
    as Mastodon lets it (login.sessions)."""
    return account.suspended_at is not None or user.disabled_at is not None


def may_sign_in_restricted(user: User, account: Account) -> bool:
    """Whether a login `may_sign_in` refuses may start a restricted web session: it is refused only for
    the moderators' measure — its sign-up approved and its address confirmed."""
    return restricted_by_moderators(user, account) and user.approved and user.confirmed_at is not None


def media_forced_sensitive(sensitized_at: datetime | None, has_media: bool) -> bool:
    """Whether a post is sensitive whatever its author says: it has media and the moderators marked its
    author's media sensitive (`Account.sensitized_at`, Mastodon's `sensitized`). The one rule of posting,
    editing and the Status entity."""
    return has_media and sensitized_at is not None


async def local_account_by_username(session: AsyncSession, username: str) -> Account | None:
    """The local account with this username (case-insensitive), or None."""
    statement = select(Account).where(
        func.lower(Account.username) == username.lower(), Account.domain.is_(None)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def account_by_uri(session: AsyncSession, uri: str) -> Account | None:
    """The account (local or remote) whose actor id is `uri`, or None."""
    return (await session.execute(select(Account).where(Account.uri == uri))).scalar_one_or_none()


async def account_by_acct(session: AsyncSession, username: str, domain: str | None) -> Account | None:
    """The account `username@domain` (domain None for local), the username case-insensitively, the domain by
    its canonical host (`apub.hosts`; None when it is malformed)."""
    statement = select(Account).where(func.lower(Account.username) == username.lower())
    if domain is None:
        statement = statement.where(Account.domain.is_(None))
    else:
        try:
            statement = statement.where(Account.domain == canonical_host(domain))
        except InvalidHost:
            return None
    return (await session.execute(statement)).scalar_one_or_none()


async def user_for_account(session: AsyncSession, account_id: int) -> User | None:
    """The login row of a local account."""
    return (await session.execute(select(User).where(User.account_id == account_id))).scalar_one_or_none()


# The actor types of local accounts people follow and read: a person's, an organisation's (issue 15) or a
# working group's (storage.groups). The instance actor (`Application`) is none of them: it has no profile
# page, inbox of its own or collections.
ACCOUNT_ACTOR_TYPES = frozenset({"Person", "Organization", "Group"})


def is_account_actor(account: Account) -> bool:
    """Whether a local account is a person's, an organisation's or a group's, not the instance actor."""
    return account.actor_type in ACCOUNT_ACTOR_TYPES


def _new_local_account(
    urls: LocalUrls, username: str, *, actor_type: str, uri: str
) -> tuple[Account, LocalKey]:
    rsa_private_pem = generate_rsa_private_key_pem()
    account = Account(
        username=username,
        domain=None,
        uri=uri,
        url=urls.profile_page(username) if actor_type == "Person" else urls.base_url,
        actor_type=actor_type,
        display_name=username if actor_type == "Person" else "",
        inbox_url=f"{uri}/inbox",
        shared_inbox_url=urls.shared_inbox(),
        outbox_url=f"{uri}/outbox",
        followers_url=f"{uri}/followers",
        following_url=f"{uri}/following",
        featured_url=f"{uri}/collections/featured",
        public_key_id=urls.rsa_key_id(uri),
        public_key_pem=public_key_pem_from_private_pem(rsa_private_pem),
        fields=[],
        also_known_as=[],
    )
    keys = LocalKey(rsa_private_pem=rsa_private_pem, ed25519_private_pem=generate_ed25519_private_key_pem())
    return account, keys


async def create_local_account(
    session: AsyncSession,
    urls: LocalUrls,
    *,
    username: str,
    password_hash: str,
    email: str | None = None,
    role: str = "user",
    approved: bool = True,
    confirmed: bool = True,
    locale: str = "",
    sign_up_reason: str | None = None,
    invite_id: int | None = None,
) -> Account:
    """Create a local account with its login and fresh RSA-2048 and Ed25519 keys (in the caller's
    transaction). Raises AccountError if the username is invalid or taken. A sign-up passes
    `confirmed=False` while its e-mail address waits for the confirmation link."""
    validate_username(username)
    if await local_account_by_username(session, username) is not None:
        raise AccountError(f"username {username!r} is taken")
    if role not in ("user", "moderator", "admin"):
        raise AccountError(f"unknown role {role!r}")
    account, keys = _new_local_account(urls, username, actor_type="Person", uri=urls.actor(username))
    session.add(account)
    await session.flush()
    keys.account_id = account.id
    session.add(keys)
    session.add(
        User(
            account_id=account.id,
            email=email,
            password_hash=password_hash,
            role=role,
            approved=approved,
            confirmed_at=utcnow() if confirmed else None,
            locale=locale,
            sign_up_reason=sign_up_reason,
            invite_id=invite_id,
        )
    )
    await session.flush()
    return account


async def ensure_instance_actor(session: AsyncSession, urls: LocalUrls) -> Account:
    """The instance's own `Application` actor (signs fetches made on behalf of the server), created once.

    Two processes starting together on a fresh database both find it missing: the second one's insert waits
    for the first's commit, then fails on the unique URI, and takes the row the first one made."""
    existing = await account_by_uri(session, urls.instance_actor())
    if existing is not None:
        return existing
    account, keys = _new_local_account(
        urls, INSTANCE_ACTOR_USERNAME, actor_type="Application", uri=urls.instance_actor()
    )
    account.inbox_url = urls.shared_inbox()
    account.locked = True  # nobody follows the instance actor
    account.discoverable = False
    account.indexable = False
    try:
        async with session.begin_nested():
            session.add(account)
            await session.flush()
            keys.account_id = account.id
            session.add(keys)
            await session.flush()
    except IntegrityError:
        created = await account_by_uri(session, urls.instance_actor())
        if created is None:
            raise
        return created
    return account


async def signing_keys(session: AsyncSession, account: Account) -> LocalSigningKeys:
    """The private keys of a local actor, for signing outgoing requests."""
    keys = await session.get(LocalKey, account.id)
    if keys is None:
        raise AccountError(f"account {account.uri} has no local keys")
    return LocalSigningKeys(
        actor_uri=account.uri,
        rsa_key_id=account.public_key_id or f"{account.uri}#main-key",
        rsa_private_pem=keys.rsa_private_pem,
        ed25519_key_id=f"{account.uri}#ed25519-key",
        ed25519_private_pem=keys.ed25519_private_pem,
    )


async def ed25519_public_pem(session: AsyncSession, account_id: int) -> str | None:
    """The Ed25519 public key of a local actor (published as a Multikey), or None."""
    keys = await session.get(LocalKey, account_id)
    return public_key_pem_from_private_pem(keys.ed25519_private_pem) if keys else None


async def count_local_users(session: AsyncSession) -> int:
    """How many people have a login here."""
    return int((await session.execute(select(func.count()).select_from(User))).scalar_one())
