"""What handlers share: the handler signature, local lookups, replies queued for delivery, notifications
that respect silenced domains."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from apub.builders import build_activity
from apub.hosts import delivery_inbox
from storage.accounts import is_account_actor
from storage.activities import add_activity, new_activity_id
from storage.bus import Event
from storage.context import Context
from storage.deliveries import delivery_job_row
from storage.models import Account, Follow
from storage.notify import notify
from storage.queue import enqueue_many
from storage.urls import LocalUrls

Handler = Callable[[Context, dict[str, Any], Account], Awaitable[list[Event]]]


async def local_account_by_uri(session: AsyncSession, uri: str | None) -> Account | None:
    """The local Person whose actor id is `uri`."""
    if uri is None:
        return None
    account = (
        await session.execute(select(Account).where(Account.uri == uri, Account.domain.is_(None)))
    ).scalar_one_or_none()
    return account if account is not None and is_account_actor(account) else None


async def followed_locally(session: AsyncSession, account_id: int) -> bool:
    """Whether any local account follows `account_id`."""
    return bool(
        await session.scalar(
            select(
                exists()
                .where(Follow.target_account_id == account_id)
                .where(Follow.account_id.in_(select(Account.id).where(Account.domain.is_(None))))
            )
        )
    )


async def notify_from(
    session: AsyncSession,
    recipient_id: int,
    sender: Account,
    notification_type: str,
    *,
    status_id: int | None = None,
) -> list[Event]:
    """A notification for a local recipient; from a silenced account only if the recipient follows it."""
    if sender.silenced_at is not None:
        follows = await session.scalar(
            select(exists().where(Follow.account_id == recipient_id, Follow.target_account_id == sender.id))
        )
        if not follows:
            return []
    event = await notify(session, recipient_id, sender.id, notification_type, status_id=status_id)
    return [event] if event is not None else []


async def queue_reply(
    session: AsyncSession,
    ctx: Context,
    *,
    sender: Account,
    recipient: Account,
    activity_type: str,
    activity_object: str | dict[str, Any],
    result: str | None = None,
) -> str:
    """Store an activity by a local `sender` and queue its delivery to `recipient`'s personal inbox
    (`result`: what an `Accept` produced, such as a quote's approval stamp). Returns the activity's id."""
    activity_id = new_activity_id()
    uri = LocalUrls(ctx.base_url).activity(activity_id)
    payload = build_activity(activity_type, uri, sender.uri, activity_object, to=[recipient.uri])
    if result is not None:
        payload["result"] = result
    await add_activity(
        session,
        activity_id=activity_id,
        uri=uri,
        account_id=sender.id,
        activity_type=activity_type,
        payload=payload,
        visibility="direct",
    )
    inbox = delivery_inbox(recipient.uri, recipient.inbox_url, None, personal=True)
    if inbox:
        await enqueue_many(
            session, [delivery_job_row(activity_id=activity_id, sender_id=sender.id, inbox=inbox)]
        )
    return uri
