"""Telling an account what the moderators did (Mastodon's account warnings, "strikes"): the warning row, the
`moderation_warning` notification of a local account and, when asked, the e-mail — written in the caller's
transaction, so the warning exists exactly when the action does. Appeals are `moderation.appeals`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.accounts import user_for_account
from storage.bus import Event
from storage.context import Context
from storage.mail_queue import MailKind, enqueue_mail
from storage.models import Account, AccountWarning, Notification

# Mastodon's AccountWarning actions that are told to an account (lifting a measure is not).
WARNING_ACTIONS = ("none", "disable", "sensitive", "silence", "suspend", "delete_statuses")


async def staff_account_id(session: AsyncSession, actor: str) -> int | None:
    """The local account of an audit actor named `@username` (the admin API and the web); None for the CLI."""
    if not actor.startswith("@"):
        return None
    statement = select(Account.id).where(Account.username == actor[1:], Account.domain.is_(None))
    return await session.scalar(statement)


@dataclass(frozen=True)
class Telling:
    """Whether an action may be told to its account (its text the moderators' message), and also by mail.
    The admin API always tells (as Mastodon's strikes); the web asks the moderator; the CLI never tells."""

    tell: bool = False
    send_email: bool = False


SILENT = Telling()  # the account is not told


def is_warned(action: str, text: str, telling: Telling) -> bool:
    """Whether an action is told to its account: one of WARNING_ACTIONS, with telling on, taken with a text
    or with the e-mail asked for (an action without either stays in the audit log only)."""
    return telling.tell and action in WARNING_ACTIONS and (bool(text.strip()) or telling.send_email)


async def warn_in(
    session: AsyncSession,
    ctx: Context,
    account: Account,
    action: str,
    *,
    actor: str,
    text: str,
    send_email: bool,
    report_id: int | None = None,
    status_ids: Sequence[int] = (),
) -> Event | None:
    """Store the warning; for a local account also its `moderation_warning` notification (never filtered:
    it is from the moderators, as Mastodon) and, with `send_email`, a mail server and a confirmed address,
    the mail's job.
    The stream event to publish after the commit, for a local account."""
    warning = AccountWarning(
        target_account_id=account.id,
        account_id=await staff_account_id(session, actor),
        action=action,
        text=text.strip(),
        report_id=report_id,
        status_ids=[str(status_id) for status_id in status_ids],
    )
    session.add(warning)
    await session.flush()
    if account.domain is not None:
        return None
    notification = Notification(
        account_id=account.id,
        from_account_id=account.id,  # as Mastodon: the warning's account, never the moderator's
        notification_type="moderation_warning",
        account_warning_id=warning.id,
    )
    session.add(notification)
    await session.flush()
    user = await user_for_account(session, account.id)
    mail_on = bool(ctx.settings.mail.host)
    if send_email and mail_on and user is not None and user.email and user.confirmed_at is not None:
        await enqueue_mail(session, MailKind.WARNING, user.id, account_warning_id=warning.id)
    return Event(
        topic=f"user:{account.id}", kind="notification", payload={"notification_id": notification.id}
    )
