"""The `mail` queue's handler: the messages sign-up, recovery, moderation warnings and appeals send, one job each,
enqueued in the transaction that calls for them (`storage.mail_queue`). The job makes the mailed token itself,
just before sending, so its secret is never stored — not even in the job's payload."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import select

from mail import MailError, MailTemplates, mail_language, send_mail
from storage.context import Context
from storage.instance_profile import read_instance_profile
from storage.mail_queue import MAIL_QUEUE, MailKind, enqueue_mail
from storage.models import Account, AccountWarning, Appeal, User
from storage.queue import ClaimedJob, JobFailed, RetryJob
from storage.types import utcnow
from storage.user_tokens import TokenPurpose, issue_user_token

__all__ = ["MAIL_QUEUE", "MailKind", "enqueue_mail", "mail_job_handler"]

MAX_TRIES = 12  # with the backoff below, about a day of trying


def confirmation_url(base_url: str, secret: str) -> str:
    return f"{base_url}/auth/confirmation?confirmation_token={secret}"


def password_reset_url(base_url: str, secret: str) -> str:
    return f"{base_url}/auth/password/edit?reset_password_token={secret}"


def sign_in_url(base_url: str) -> str:
    return f"{base_url}/login"


def dispute_url(base_url: str, account_warning_id: int) -> str:
    """A warning's own page, where it is appealed and the appeal's decision is read."""
    return f"{base_url}/web/disputes/{account_warning_id}"


def appeals_url(base_url: str) -> str:
    """The moderators' list of the appeals waiting for a decision."""
    return f"{base_url}/web/admin/appeals"


def _retry_delay(tries: int) -> timedelta:
    return timedelta(seconds=min(30 * 2**tries, 4 * 3600) * random.uniform(0.8, 1.2))


_ABOUT_WARNINGS = (MailKind.WARNING, MailKind.APPEAL_APPROVED, MailKind.APPEAL_REJECTED, MailKind.NEW_APPEAL)


async def _prepare(ctx: Context, kind: MailKind, user_id: int) -> tuple[User, Account, str | None] | None:
    async with ctx.db.transaction() as session:
        row = (
            await session.execute(
                select(User, Account).join(Account, Account.id == User.account_id).where(User.id == user_id)
            )
        ).first()
        if row is None or not row[0].email:
            return None  # the sign-up was rejected meanwhile, or there is no address
        user, account = row
        if kind is MailKind.CONFIRM:
            if user.confirmed_at is not None:
                return None
            return user, account, await issue_user_token(session, user.id, TokenPurpose.CONFIRM)
        if kind is MailKind.RESET:
            return user, account, await issue_user_token(session, user.id, TokenPurpose.RESET)
        if kind in _ABOUT_WARNINGS and user.confirmed_at is None:
            return None  # warnings and appeals go only to a confirmed address
        return user, account, None


async def _warning(ctx: Context, account_warning_id: object) -> AccountWarning | None:
    async with ctx.db.read() as session:
        return await session.get(AccountWarning, int(str(account_warning_id)))


async def _appeal_values(ctx: Context, warning: AccountWarning) -> dict[str, object] | None:
    """What a staff member's mail of a new appeal says: who appeals, with which text (None when the appeal
    or its account went meanwhile)."""
    async with ctx.db.read() as session:
        found = (
            await session.execute(
                select(Appeal, Account)
                .join(Account, Account.id == Appeal.account_id)
                .where(Appeal.account_warning_id == warning.id)
            )
        ).first()
    if found is None:
        return None
    appeal, appellant = found
    return {"appellant": appellant.username, "appeal_text": appeal.text, "link": appeals_url(ctx.base_url)}


def mail_job_handler(ctx: Context, templates: MailTemplates) -> Callable[[ClaimedJob], Awaitable[None]]:
    """Run one `mail` job: make its token (committed first, so a link that arrives always works), render the
    message in the user's language and hand it to the SMTP server."""

    async def handle(job: ClaimedJob) -> None:
        try:
            kind = MailKind(job.payload.get("kind"))
        except ValueError as error:
            raise JobFailed(f"unknown mail job {job.payload.get('kind')!r}") from error
        if not ctx.settings.mail.host:
            raise JobFailed("no mail server configured (mail.host)")
        prepared = await _prepare(ctx, kind, int(job.payload["user_id"]))
        if prepared is None:
            return
        user, account, secret = prepared
        settings = ctx.settings
        values: dict[str, object] = {
            "username": account.username,
            "instance_name": (await read_instance_profile(ctx)).name,
            "domain": settings.domain,
        }
        if kind is MailKind.CONFIRM:
            assert secret is not None
            values |= {
                "link": confirmation_url(ctx.base_url, secret),
                "hours": int(TokenPurpose.CONFIRM.lifetime.total_seconds() // 3600),
                "awaiting_approval": not user.approved,
            }
        elif kind is MailKind.RESET:
            assert secret is not None
            values |= {
                "link": password_reset_url(ctx.base_url, secret),
                "hours": int(TokenPurpose.RESET.lifetime.total_seconds() // 3600),
            }
        elif kind in _ABOUT_WARNINGS:
            warning = await _warning(ctx, job.payload.get("account_warning_id"))
            if warning is None:
                return  # the account (and its warnings) went meanwhile
            values |= {
                "action": warning.action,
                "text": warning.text,
                "created_at": warning.created_at,
                "link": dispute_url(ctx.base_url, warning.id),
            }
            if kind is MailKind.NEW_APPEAL:
                appeal_values = await _appeal_values(ctx, warning)
                if appeal_values is None:
                    return
                values |= appeal_values
        else:
            values["link"] = sign_in_url(ctx.base_url)
        language = mail_language(user.locale, settings.instance.default_language)
        assert user.email is not None
        message = templates.render(kind.value, language, user.email, **values)
        try:
            await send_mail(settings.mail, message, sender_domain=settings.domain.split(":")[0])
        except MailError as error:
            if error.permanent or job.tries >= MAX_TRIES:
                raise JobFailed(str(error)) from error
            raise RetryJob(utcnow() + _retry_delay(job.tries), error=str(error)) from error

    return handle
