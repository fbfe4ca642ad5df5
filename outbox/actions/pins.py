"""Pin and unpin a status on one's profile: the `featured` collection, announced with `Add` / `Remove`
(as Mastodon does) to followers so remote servers can show the pins."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from apub.builders import build_activity
from apub.vocab import PUBLIC
from outbox.actions._unit import Effects, after_commit, record_activity
from outbox.addressing import DeliveryTargets
from outbox.errors import NotFound, Unprocessable
from storage.context import Context
from storage.models import Account, Status, StatusPin
from storage.statuses import status_by_id

MAX_PINS = 5


async def _own_status(session: AsyncSession, account: Account, status_id: int) -> Status:
    status = await status_by_id(session, status_id)
    if status is None or status.deleted_at is not None or status.account_id != account.id:
        raise NotFound("Record not found")
    return status


async def announce_featured(
    session: AsyncSession,
    effects: Effects,
    ctx: Context,
    account: Account,
    featured_object: str | dict[str, Any],
    activity_type: str,
) -> None:
    """Store and enqueue `Add` or `Remove` (`activity_type`) of something the account shows on its profile —
    a pinned status's URI, a featured `Hashtag` — targeting its `featured` collection, to its followers (as
    Mastodon sends both)."""
    targets = DeliveryTargets()
    targets.add_followers_of(account.id)
    await record_activity(
        session,
        effects,
        ctx=ctx,
        actor=account,
        activity_type=activity_type,
        build=lambda uri: build_activity(
            activity_type,
            uri,
            account.uri,
            featured_object,
            to=[PUBLIC],
            cc=[account.followers_url or ""],
            target=account.featured_url,
        ),
        targets=targets,
    )


async def pin_status(ctx: Context, account: Account, status_id: int) -> Status:
    """Pin one of the account's own public or unlisted statuses (at most MAX_PINS); pinning twice is a no-op."""
    effects = Effects()
    async with ctx.db.transaction() as session:
        status = await _own_status(session, account, status_id)
        if status.reblog_of_id is not None or status.visibility not in ("public", "unlisted"):
            raise Unprocessable(
                "Validation failed: only your own public or unlisted posts can be pinned", field="status"
            )
        existing = await session.scalar(
            select(StatusPin.id).where(StatusPin.account_id == account.id, StatusPin.status_id == status.id)
        )
        if existing is None:
            pins = await session.scalar(select(func.count()).where(StatusPin.account_id == account.id))
            if (pins or 0) >= MAX_PINS:
                raise Unprocessable(f"Validation failed: you can pin at most {MAX_PINS} posts", field="base")
            session.add(StatusPin(account_id=account.id, status_id=status.id))
            await session.flush()
            await announce_featured(session, effects, ctx, account, status.uri, "Add")
    after_commit(ctx, effects)
    return status


async def unpin_status(ctx: Context, account: Account, status_id: int) -> Status:
    """Unpin a status; unpinning one that is not pinned is a no-op."""
    effects = Effects()
    async with ctx.db.transaction() as session:
        status = await _own_status(session, account, status_id)
        removed = await session.execute(
            delete(StatusPin).where(StatusPin.account_id == account.id, StatusPin.status_id == status.id)
        )
        if removed.rowcount:
            await announce_featured(session, effects, ctx, account, status.uri, "Remove")
    after_commit(ctx, effects)
    return status


async def pinned_statuses(session: AsyncSession, account_id: int) -> list[Status]:
    """The account's pinned, not deleted statuses, most recently pinned first."""
    rows = await session.execute(
        select(Status)
        .join(StatusPin, StatusPin.status_id == Status.id)
        .where(StatusPin.account_id == account_id, Status.deleted_at.is_(None))
        .order_by(StatusPin.id.desc())
    )
    return list(rows.scalars())
