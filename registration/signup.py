"""Signing up, under the instance's registration mode, as one transaction: the invite's use, the account
with its login and keys, and the confirmation mail's job.

| mode       | who may sign up                          | approved                 |
|------------|------------------------------------------|--------------------------|
| `closed`   | nobody (accounts come from the CLI)      |                          |
| `invite`   | holders of a usable invite               | at once                  |
| `approval` | anyone, giving a reason                  | by an admin; an invite: at once |
| `open`     | anyone                                   | at once                  |

With `[mail]` configured the address must be confirmed before the account can do anything; without it
nothing could be mailed, so it counts as confirmed.
"""

from __future__ import annotations

import asyncio
import html
import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from mail import SUPPORTED_LANGUAGES
from outbox.errors import ValidationCode
from registration.errors import RegistrationClosed, RegistrationError
from registration.mail_jobs import MailKind, enqueue_mail
from registration.throttle import MAX_SIGN_UPS_PER_ADDRESS, count_attempt
from storage.accounts import (
    EMAIL_PATTERN,
    MAX_EMAIL,
    RESERVED_USERNAMES,
    USERNAME_PATTERN,
    create_local_account,
    local_account_by_username,
)
from storage.context import Context
from storage.instance_profile import InstanceProfile, instance_profile
from storage.invites import spend_invite, usable_invite
from storage.models import Account, User
from storage.passwords import hash_password, make_hasher
from storage.settings import RegistrationMode, Settings
from storage.urls import LocalUrls

# Besides the names no account may have: role-like names a stranger could sign up with to pass as staff,
# and the mailboxes RFC 2142 reserves (staff may still make such accounts with the CLI).
SIGN_UP_RESERVED = RESERVED_USERNAMES | {
    "abuse",
    "postmaster",
    "hostmaster",
    "webmaster",
    "security",
    "noc",
    "support",
    "help",
    "info",
    "moderator",
    "moderators",
    "staff",
    "owner",
    "noreply",
    "no_reply",
    "plein",
}
MIN_PASSWORD = 8
MAX_PASSWORD = 72  # as Mastodon (bcrypt's limit there; kept so passwords move between servers alike)
MAX_REASON = 1000
LOCALE_PATTERN = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


@dataclass(frozen=True)
class SignUp:
    """What someone asking for an account gives."""

    username: str
    email: str
    password: str
    agreement: bool
    locale: str = ""
    reason: str = ""
    invite_code: str = ""
    client_address: str | None = None


@dataclass(frozen=True)
class SignedUp:
    user: User
    account: Account


def mail_configured(settings: Settings) -> bool:
    """Whether Plein can send mail, so sign-ups must confirm their address."""
    return bool(settings.mail.host)


def sign_up_allowed(mode: RegistrationMode, *, has_invite: bool) -> bool:
    """The one decision whether the registration mode admits a sign-up (with a usable invite or not)."""
    if mode == "closed":
        return False
    if mode == "invite":
        return has_invite
    return True


@dataclass(frozen=True)
class RegistrationFacts:
    """What the instance tells apps about signing up (`/api/v1/instance`, `/api/v2/instance`, NodeInfo)."""

    enabled: bool  # anyone may sign up (approval or open); invite-only counts as closed, as Mastodon's
    approval_required: bool
    invites_enabled: bool
    message: str | None  # HTML


def registration_facts(profile: InstanceProfile) -> RegistrationFacts:
    """The registration mode in force as apps see it."""
    mode = profile.registration_mode
    message = profile.registration_message.strip()
    return RegistrationFacts(
        enabled=profile.admits_anyone,
        approval_required=mode == "approval",
        invites_enabled=mode != "closed",
        message=f"<p>{html.escape(message)}</p>" if message else None,
    )


async def invite_is_usable(ctx: Context, code: str) -> bool:
    """Whether `code` names an invite that may still admit someone (for the invite's landing page)."""
    if not code:
        return False
    async with ctx.db.read() as session:
        return await usable_invite(session, code) is not None


def check_password(password: str) -> None:
    """Raise RegistrationError (on `password`) unless the length is within Mastodon's bounds."""
    if len(password) < MIN_PASSWORD:
        raise RegistrationError(
            f"Password is too short (minimum is {MIN_PASSWORD} characters)",
            field="password",
            code=ValidationCode.TOO_SHORT,
        )
    if len(password) > MAX_PASSWORD:
        raise RegistrationError(
            f"Password is too long (maximum is {MAX_PASSWORD} characters)",
            field="password",
            code=ValidationCode.TOO_LONG,
        )


def _check_fields(request: SignUp) -> None:
    if not request.username:
        raise RegistrationError("Username can't be blank", field="username", code=ValidationCode.BLANK)
    if not USERNAME_PATTERN.match(request.username):
        raise RegistrationError(
            "Username must contain only letters, numbers and underscores (at most 30)", field="username"
        )
    if request.username.lower() in SIGN_UP_RESERVED:
        raise RegistrationError("Username is reserved", field="username", code=ValidationCode.RESERVED)
    if not request.email:
        raise RegistrationError("Email can't be blank", field="email", code=ValidationCode.BLANK)
    if len(request.email) > MAX_EMAIL or not EMAIL_PATTERN.match(request.email):
        raise RegistrationError("Email is invalid", field="email")
    check_password(request.password)
    if not request.agreement:
        raise RegistrationError("Agreement must be accepted", field="agreement", code=ValidationCode.ACCEPTED)
    if request.locale and not LOCALE_PATTERN.match(request.locale):
        raise RegistrationError(
            "Locale is not included in the list", field="locale", code=ValidationCode.INCLUSION
        )
    if len(request.reason) > MAX_REASON:
        raise RegistrationError(
            f"Reason is too long (maximum is {MAX_REASON} characters)",
            field="reason",
            code=ValidationCode.TOO_LONG,
        )


def page_language(locale: str) -> str:
    """The language of pages and mails a sign-up's `locale` asks for ("" when we have not got it: the browser
    or the instance default decides)."""
    language = locale.split("-")[0].lower()
    return language if language in SUPPORTED_LANGUAGES else ""


async def sign_up(ctx: Context, request: SignUp) -> SignedUp:
    """Create the account `request` asks for, if the registration mode admits it; raises RegistrationClosed
    (403), TooManyAttempts (429) or RegistrationError (422, naming the field). Nothing is written when
    refused, except the attempt's count for the rate limit."""
    # The mode in force now (an admin may have changed it a moment ago, in any process).
    async with ctx.db.read() as session:
        mode = (await instance_profile(session, ctx.settings)).registration_mode
    if not sign_up_allowed(mode, has_invite=bool(request.invite_code)):
        raise RegistrationClosed(
            "Registrations are closed on this server"
            if mode != "invite"
            else "An invite is needed to sign up here"
        )
    if request.client_address:
        async with ctx.db.transaction() as session:
            await count_attempt(
                session,
                "sign_up",
                [(f"address:{request.client_address}", MAX_SIGN_UPS_PER_ADDRESS)],
                "Too many sign-ups from this address; try again later",
            )
    _check_fields(request)
    # argon2 takes tens of milliseconds of CPU: keep the event loop free.
    password_hash = await asyncio.to_thread(hash_password, make_hasher(), request.password)
    try:
        return await _create(ctx, request, password_hash, mode)
    except IntegrityError as error:  # a sign-up racing this one took the name or address first
        raise RegistrationError(
            "Username or email has already been taken", code=ValidationCode.TAKEN
        ) from error


async def _create(ctx: Context, request: SignUp, password_hash: str, mode: RegistrationMode) -> SignedUp:
    settings = ctx.settings
    async with ctx.db.transaction() as session:
        invite = None
        if request.invite_code:
            invite = await spend_invite(session, request.invite_code)
            if invite is None:
                raise RegistrationError("Invite code is invalid, used up or expired", field="invite_code")
        if invite is None and mode == "approval" and not request.reason.strip():
            raise RegistrationError("Reason can't be blank", field="reason", code=ValidationCode.BLANK)
        if await local_account_by_username(session, request.username) is not None:
            raise RegistrationError(
                "Username has already been taken", field="username", code=ValidationCode.TAKEN
            )
        taken = await session.scalar(select(User.id).where(func.lower(User.email) == request.email.lower()))
        if taken is not None:
            raise RegistrationError("Email has already been taken", field="email", code=ValidationCode.TAKEN)
        confirmed = not mail_configured(settings)
        account = await create_local_account(
            session,
            LocalUrls(ctx.base_url),
            username=request.username,
            password_hash=password_hash,
            email=request.email,
            approved=invite is not None or mode != "approval",
            confirmed=confirmed,
            locale=page_language(request.locale),
            sign_up_reason=request.reason.strip() or None,
            invite_id=invite.id if invite is not None else None,
        )
        user = (await session.execute(select(User).where(User.account_id == account.id))).scalar_one()
        if not confirmed:
            await enqueue_mail(session, MailKind.CONFIRM, user.id)
    return SignedUp(user=user, account=account)
