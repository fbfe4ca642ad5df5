"""Web Push subscriptions (one per access token) and the push jobs a new notification starts.

A push job is queued in the transaction that stores the notification, for every subscription of the
recipient whose alerts take that notification type; the `push` queue's handler (`outbox.web_push`) applies the
subscription's policy, encrypts and sends.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import PushSubscription
from storage.queue import enqueue_many, job_row

PUSH_QUEUE = "push"
# Mastodon's alert names, and the notification types each one covers.
ALERT_TYPES = {
    "mention": ("mention",),
    "status": ("status",),
    "reblog": ("reblog",),
    "follow": ("follow",),
    "follow_request": ("follow_request",),
    "favourite": ("favourite",),
    "poll": ("poll",),
    "update": ("update",),
    "quote": ("quote",),
    "quoted_update": ("quoted_update",),
    "admin.sign_up": ("admin.sign_up",),
    "admin.report": ("admin.report",),
}
POLICIES = ("all", "followed", "follower", "none")


async def subscription_of_token(session: AsyncSession, token_id: int) -> PushSubscription | None:
    statement = select(PushSubscription).where(PushSubscription.token_id == token_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def replace_subscription(session: AsyncSession, subscription: PushSubscription) -> PushSubscription:
    """Store `subscription`, replacing the token's previous one (as Mastodon's create does)."""
    await session.execute(delete(PushSubscription).where(PushSubscription.token_id == subscription.token_id))
    session.add(subscription)
    await session.flush()
    return subscription


async def delete_subscription(session: AsyncSession, subscription_id: int) -> None:
    await session.execute(delete(PushSubscription).where(PushSubscription.id == subscription_id))


async def enqueue_pushes(session: AsyncSession, notifications: Iterable[tuple[int, int, str]]) -> int:
    """Queue a push for each (recipient id, notification id, type) to each subscription that wants it; one
    query whatever the count, none of the recipients subscribing is the common case."""
    by_recipient: dict[int, list[tuple[int, str]]] = {}
    for recipient_id, notification_id, notification_type in notifications:
        by_recipient.setdefault(recipient_id, []).append((notification_id, notification_type))
    if not by_recipient:
        return 0
    rows = await session.execute(
        select(PushSubscription.id, PushSubscription.account_id, PushSubscription.alerts).where(
            PushSubscription.account_id.in_(by_recipient)
        )
    )
    jobs: list[dict[str, Any]] = []
    for subscription_id, account_id, alerts in rows:
        wanted = {kind for alert, kinds in ALERT_TYPES.items() if (alerts or {}).get(alert) for kind in kinds}
        for notification_id, notification_type in by_recipient[account_id]:
            if notification_type in wanted:
                payload = {"subscription_id": subscription_id, "notification_id": notification_id}
                jobs.append(job_row(PUSH_QUEUE, payload, dedupe_key=f"{subscription_id}:{notification_id}"))
    return await enqueue_many(session, jobs)
