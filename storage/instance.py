"""Figures about the instance as a whole: counts, known peer domains, the contact account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Account, OAuthToken, Status, User
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


@dataclass(frozen=True)
class WeekActivity:
    """One week (from Monday 00:00 UTC) of local activity."""

    week_start: datetime
    statuses: int  # local statuses posted (deleted ones included: they were posted that week)
    logins: int  # local users issued a token (signed in with an app or the web) that week
    registrations: int  # local users created


async def weekly_activity(session: AsyncSession, *, now: datetime, weeks: int = 12) -> list[WeekActivity]:
    """The last `weeks` weeks of local activity, the current week first (what `/api/v1/instance/activity`
    reports): a few counts per week, each on an indexed creation time."""
    monday = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    activity: list[WeekActivity] = []
    for back in range(weeks):
        start = monday - timedelta(weeks=back)
        end = start + timedelta(weeks=1)
        statuses = await session.execute(
            select(func.count()).where(
                Status.local.is_(True), Status.created_at >= start, Status.created_at < end
            )
        )
        logins = await session.execute(
            select(func.count(distinct(OAuthToken.user_id))).where(
                OAuthToken.user_id.is_not(None), OAuthToken.created_at >= start, OAuthToken.created_at < end
            )
        )
        registrations = await session.execute(
            select(func.count()).select_from(User).where(User.created_at >= start, User.created_at < end)
        )
        activity.append(
            WeekActivity(
                start, int(statuses.scalar_one()), int(logins.scalar_one()), int(registrations.scalar_one())
            )
        )
    return activity


async def contact_email(session: AsyncSession, configured: str) -> str:
    """`instance.contact_email`, else the first administrator's address: strict clients refuse an empty one.
    Empty only when neither is set (`plein doctor` says so)."""
    if configured:
        return configured
    statement = (
        select(User.email)
        .where(User.role == "admin", User.email.is_not(None), User.email != "")
        .order_by(User.created_at)
        .limit(1)
    )
    return (await session.execute(statement)).scalar_one_or_none() or ""
