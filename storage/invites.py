"""Invite links: made by staff, spent by sign-ups. Only the SHA-256 of a code is stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Invite
from storage.oauth import secret_digest
from storage.types import utcnow


def invite_usable(invite: Invite, now: datetime) -> bool:
    """Whether `invite` may still admit someone: not revoked, not expired, uses left."""
    return (
        invite.revoked_at is None
        and (invite.expires_at is None or invite.expires_at > now)
        and (invite.max_uses is None or invite.uses < invite.max_uses)
    )


async def usable_invite(session: AsyncSession, code: str) -> Invite | None:
    """The invite `code` names, if it may still admit someone."""
    invite = (
        await session.execute(select(Invite).where(Invite.code_hash == secret_digest(code)))
    ).scalar_one_or_none()
    return invite if invite is not None and invite_usable(invite, utcnow()) else None


async def spend_invite(session: AsyncSession, code: str) -> Invite | None:
    """Count one use of the invite `code` names; None when it cannot admit anyone any more. One conditional
    UPDATE, so two sign-ups racing for an invite's last use cannot both have it."""
    now = utcnow()
    spent = await session.execute(
        update(Invite)
        .where(
            Invite.code_hash == secret_digest(code),
            Invite.revoked_at.is_(None),
            or_(Invite.expires_at.is_(None), Invite.expires_at > now),
            or_(Invite.max_uses.is_(None), Invite.uses < Invite.max_uses),
        )
        .values(uses=Invite.uses + 1)
        .returning(Invite.id)
    )
    invite_id = spent.scalar_one_or_none()
    return await session.get(Invite, invite_id) if invite_id is not None else None


async def list_invites(session: AsyncSession) -> list[Invite]:
    """Every invite, newest first."""
    return list((await session.execute(select(Invite).order_by(Invite.id.desc()))).scalars())
