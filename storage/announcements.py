"""Announcements as users see them: the ones in force, what each user read, and the reactions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, case, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Announcement, AnnouncementReaction, AnnouncementRead


@dataclass(frozen=True)
class ReactionCount:
    name: str
    count: int
    me: bool


def in_force(now: datetime) -> ColumnElement[bool]:
    """Published and not ended: what apps list."""
    return (Announcement.published_at <= now) & or_(
        Announcement.ends_at.is_(None), Announcement.ends_at > now
    )


async def announcements_for(
    session: AsyncSession, account_id: int, *, now: datetime, with_dismissed: bool
) -> list[Announcement]:
    """The announcements in force, oldest first (as Mastodon's `chronological`), without the ones the
    account dismissed unless asked."""
    statement = select(Announcement).where(in_force(now))
    if not with_dismissed:
        statement = statement.where(
            Announcement.id.not_in(
                select(AnnouncementRead.announcement_id).where(AnnouncementRead.account_id == account_id)
            )
        )
    order = func.coalesce(Announcement.starts_at, Announcement.published_at)
    return list((await session.execute(statement.order_by(order, Announcement.id))).scalars())


async def announcement_in_force(
    session: AsyncSession, announcement_id: int, *, now: datetime
) -> Announcement | None:
    statement = select(Announcement).where(Announcement.id == announcement_id, in_force(now))
    return (await session.execute(statement)).scalar_one_or_none()


async def read_ids(session: AsyncSession, account_id: int, announcement_ids: list[int]) -> set[int]:
    statement = select(AnnouncementRead.announcement_id).where(
        AnnouncementRead.account_id == account_id, AnnouncementRead.announcement_id.in_(announcement_ids)
    )
    return set((await session.execute(statement)).scalars())


async def mark_read(session: AsyncSession, account_id: int, announcement_id: int) -> None:
    exists_already = await session.scalar(
        select(AnnouncementRead.id).where(
            AnnouncementRead.account_id == account_id, AnnouncementRead.announcement_id == announcement_id
        )
    )
    if exists_already is None:
        session.add(AnnouncementRead(account_id=account_id, announcement_id=announcement_id))
        await session.flush()


async def reactions_of(
    session: AsyncSession, announcement_ids: list[int], account_id: int
) -> dict[int, list[ReactionCount]]:
    """Per announcement, its reactions with their counts and whether `account_id` gave each, in the order
    they were first given."""
    rows = await session.execute(
        select(
            AnnouncementReaction.announcement_id,
            AnnouncementReaction.name,
            func.count(),
            func.max(case((AnnouncementReaction.account_id == account_id, 1), else_=0)),
            func.min(AnnouncementReaction.created_at),
        )
        .where(AnnouncementReaction.announcement_id.in_(announcement_ids))
        .group_by(AnnouncementReaction.announcement_id, AnnouncementReaction.name)
        .order_by(func.min(AnnouncementReaction.created_at))
    )
    reactions: dict[int, list[ReactionCount]] = {}
    for announcement_id, name, count, mine, _ in rows:
        reactions.setdefault(announcement_id, []).append(ReactionCount(name, int(count), bool(mine)))
    return reactions


async def add_reaction(session: AsyncSession, announcement_id: int, account_id: int, name: str) -> bool:
    """True when the reaction is new."""
    existing = await session.scalar(
        select(AnnouncementReaction.id).where(
            AnnouncementReaction.announcement_id == announcement_id,
            AnnouncementReaction.account_id == account_id,
            AnnouncementReaction.name == name,
        )
    )
    if existing is not None:
        return False
    session.add(AnnouncementReaction(announcement_id=announcement_id, account_id=account_id, name=name))
    await session.flush()
    return True


async def remove_reaction(session: AsyncSession, announcement_id: int, account_id: int, name: str) -> bool:
    result = await session.execute(
        delete(AnnouncementReaction).where(
            AnnouncementReaction.announcement_id == announcement_id,
            AnnouncementReaction.account_id == account_id,
            AnnouncementReaction.name == name,
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
