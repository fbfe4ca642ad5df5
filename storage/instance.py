"""Figures about the instance as a whole: counts, known peer domains, the contact account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Account, Status, User
from storage.types import utcnow


@dataclass(frozen=True)
class InstanceStats:
    user_count: int
    status_count: int
    domain_count: int
    active_month: int


async def instance_stats(session: AsyncSession) -> InstanceStats:
    """How many local users and local statuses there are, how many remote domains we know, and how many
    local accounts posted in the last 30 days."""
    users = (await session.execute(select(func.count()).select_from(User))).scalar_one()
    statuses = (
        await session.execute(select(func.count()).where(Status.local.is_(True), Status.deleted_at.is_(None)))
    ).scalar_one()
    domains = (
        await session.execute(select(func.count(distinct(Account.domain))).where(Account.domain.is_not(None)))
    ).scalar_one()
    active = (
        await session.execute(
            select(func.count())
            .select_from(User)
            .join(Account, Account.id == User.account_id)
            .where(Account.last_status_at >= utcnow() - timedelta(days=30))
        )
    ).scalar_one()
    return InstanceStats(int(users), int(statuses), int(domains), int(active))


async def peer_domains(session: AsyncSession) -> list[str]:
    """Every remote domain we have an account of, sorted."""
    rows = await session.execute(
        select(Account.domain).where(Account.domain.is_not(None)).distinct().order_by(Account.domain)
    )
    return [domain for domain in rows.scalars() if domain]


async def contact_account(session: AsyncSession) -> Account | None:
    """The first administrator's account (the instance's contact), or None."""
    statement = (
        select(Account)
        .join(User, User.account_id == Account.id)
        .where(User.role == "admin", Account.suspended_at.is_(None))
        .order_by(User.created_at)
        .limit(1)
    )
    return (await session.execute(statement)).scalar_one_or_none()
