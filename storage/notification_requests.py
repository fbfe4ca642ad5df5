"""Notification requests: the mentions a local account's policy filtered (`storage.notification_policy`),
one request per sender, until the account accepts them (the sender's filtered notifications join the
others, and the sender is never filtered again) or dismisses them (they are deleted).

A request is shown while it holds at least one filtered mention; its count is read, never stored, so
notifications deleted by other paths (a dismissed notification, a deleted status, a mute) are never counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, delete, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Account, Notification, NotificationPermission, NotificationRequest
from storage.types import utcnow

MAX_MEANINGFUL_COUNT = 100  # the policy summary counts requests up to this many, as Mastodon


def _held(request: Any = NotificationRequest) -> Any:
    """SQL condition: a filtered mention from the request's sender to its account is still stored."""
    return exists().where(
        Notification.account_id == request.account_id,
        Notification.from_account_id == request.from_account_id,
        Notification.filtered.is_(True),
        Notification.notification_type == "mention",
    )


async def hold_in_requests(session: AsyncSession, held: Sequence[tuple[int, int, int | None]]) -> None:
    """Open (or bring up to date) the request of each (account, sender, mentioning status) whose mention was
    just stored filtered."""
    if not held:
        return
    latest: dict[tuple[int, int], int | None] = {}
    for account_id, sender_id, status_id in held:
        latest[(account_id, sender_id)] = status_id
    now = utcnow()
    connection = await session.connection()
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    for (account_id, sender_id), status_id in latest.items():
        statement = insert(NotificationRequest).values(
            account_id=account_id,
            from_account_id=sender_id,
            last_status_id=status_id,
            created_at=now,
            updated_at=now,
        )
        await connection.execute(
            statement.on_conflict_do_update(
                index_elements=["account_id", "from_account_id"],
                set_={"last_status_id": status_id, "updated_at": now},
            )
        )


def requests_query(account_id: int) -> Select[Any]:
    """An account's pending requests (page them by `NotificationRequest.id`), senders not suspended."""
    return select(NotificationRequest).where(
        NotificationRequest.account_id == account_id,
        _held(),
        ~exists().where(Account.id == NotificationRequest.from_account_id, Account.suspended_at.is_not(None)),
    )


async def request_for(session: AsyncSession, account_id: int, request_id: int) -> NotificationRequest | None:
    """One of an account's pending requests, or None (also when it is someone else's or holds nothing)."""
    statement = requests_query(account_id).where(NotificationRequest.id == request_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def requests_by_ids(
    session: AsyncSession, account_id: int, request_ids: Sequence[int]
) -> list[NotificationRequest]:
    """The account's own requests among these ids (others' and unknown ids are left out, as Mastodon)."""
    if not request_ids:
        return []
    statement = select(NotificationRequest).where(
        NotificationRequest.account_id == account_id, NotificationRequest.id.in_(list(request_ids))
    )
    return list((await session.execute(statement)).scalars())


async def held_counts(session: AsyncSession, requests: Sequence[NotificationRequest]) -> dict[int, int]:
    """How many filtered mentions each request holds (request id → count), in one read."""
    if not requests:
        return {}
    account_id = requests[0].account_id
    by_sender = {request.from_account_id: request.id for request in requests}
    rows = await session.execute(
        select(Notification.from_account_id, func.count())
        .where(
            Notification.account_id == account_id,
            Notification.from_account_id.in_(list(by_sender)),
            Notification.filtered.is_(True),
            Notification.notification_type == "mention",
        )
        .group_by(Notification.from_account_id)
    )
    return {by_sender[sender]: count for sender, count in rows}


async def accept_requests(session: AsyncSession, requests: Sequence[NotificationRequest]) -> None:
    """Accept requests: their senders' filtered notifications join the account's others, and these senders
    are never filtered for the account again. Done in the caller's transaction, so once it commits the
    notifications are merged."""
    for request in requests:
        already = await session.scalar(
            select(
                exists().where(
                    NotificationPermission.account_id == request.account_id,
                    NotificationPermission.from_account_id == request.from_account_id,
                )
            )
        )
        if not already:
            session.add(
                NotificationPermission(account_id=request.account_id, from_account_id=request.from_account_id)
            )
        await session.execute(
            update(Notification)
            .where(
                Notification.account_id == request.account_id,
                Notification.from_account_id == request.from_account_id,
                Notification.filtered.is_(True),
            )
            .values(filtered=False)
        )
        await session.delete(request)
    await session.flush()


async def dismiss_requests(session: AsyncSession, requests: Sequence[NotificationRequest]) -> None:
    """Dismiss requests: their filtered notifications are deleted; later ones from the same senders are
    filtered into a new request, as before."""
    for request in requests:
        await session.execute(
            delete(Notification).where(
                Notification.account_id == request.account_id,
                Notification.from_account_id == request.from_account_id,
                Notification.filtered.is_(True),
            )
        )
        await session.delete(request)
    await session.flush()


async def pending_summary(session: AsyncSession, account_id: int) -> tuple[int, int]:
    """(pending requests, filtered mentions they hold), counting at most `MAX_MEANINGFUL_COUNT` requests."""
    pending = requests_query(account_id).with_only_columns(NotificationRequest.from_account_id)
    senders = list((await session.execute(pending.limit(MAX_MEANINGFUL_COUNT))).scalars())
    if not senders:
        return 0, 0
    held = await session.scalar(
        select(func.count()).where(
            Notification.account_id == account_id,
            Notification.from_account_id.in_(senders),
            Notification.filtered.is_(True),
            Notification.notification_type == "mention",
        )
    )
    return len(senders), int(held or 0)
