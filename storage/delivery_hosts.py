"""Per-remote-host delivery state (`delivery_hosts`): consecutive failures, pause (circuit breaker), the
signature scheme that worked, and marking remote actors gone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.models import Account, DeliveryHost
from storage.types import utcnow


async def load_host(db: Database, host: str) -> DeliveryHost | None:
    """The delivery state of `host`, or None if we never recorded one."""
    async with db.read() as session:
        return await session.get(DeliveryHost, host)


def _upsert(session: AsyncSession) -> object:
    return postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert


async def record_success(db: Database, host: str, *, signature_scheme: str | None) -> None:
    """The host answered: close the breaker and reset its failure count."""
    now = utcnow()
    values = {"consecutive_failures": 0, "paused_until": None, "last_success_at": now}
    if signature_scheme:
        values["signature_scheme"] = signature_scheme
    async with db.transaction() as session:
        insert = _upsert(session)(DeliveryHost).values(host=host, **values)  # type: ignore[operator]
        await session.execute(insert.on_conflict_do_update(index_elements=["host"], set_=values))


async def record_failure(
    db: Database, host: str, *, threshold: int, pause_for: Callable[[int], timedelta]
) -> DeliveryHost:
    """Count one more consecutive failure; at `threshold` and beyond the host is paused for
    `pause_for(failures)`. Returns the new state."""
    now = utcnow()
    async with db.transaction() as session:
        row = await session.get(DeliveryHost, host)
        if row is None:
            row = DeliveryHost(host=host, consecutive_failures=0)
            session.add(row)
        row.consecutive_failures = (row.consecutive_failures or 0) + 1
        row.last_failure_at = now
        if row.consecutive_failures >= threshold:
            row.paused_until = now + pause_for(row.consecutive_failures - threshold)
        await session.flush()
        return row


async def mark_inbox_owners_gone(db: Database, inbox: str) -> int:
    """A personal inbox answered 410 Gone: its remote actor no longer exists. Returns how many were marked."""
    async with db.transaction() as session:
        result = await session.execute(
            update(Account)
            .where(Account.domain.is_not(None), Account.gone_at.is_(None), Account.inbox_url == inbox)
            .values(gone_at=utcnow())
        )
    return max(result.rowcount, 0)


def paused(row: DeliveryHost | None, now: datetime) -> datetime | None:
    """When the breaker of this host reopens, if it is paused now."""
    if row is None or row.paused_until is None or row.paused_until <= now:
        return None
    return row.paused_until
