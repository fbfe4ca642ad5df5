"""The moderation audit log: one row per moderation action, written in the action's own transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry


async def add_audit_entry(
    session: AsyncSession, *, actor: str, action: str, target: str, details: dict[str, Any]
) -> AuditEntry:
    """Record a moderation action in the caller's transaction (so it exists exactly when the action does)."""
    entry = AuditEntry(actor=actor[:255], action=action, target=target[:255], details=details)
    session.add(entry)
    await session.flush()
    return entry


async def recent_audit_entries(
    session: AsyncSession,
    *,
    limit: int = 50,
    action: str = "",
    actor: str = "",
    before: AuditEntry | None = None,
) -> list[AuditEntry]:
    """The newest entries first, of one `action` and/or one `actor` when given, older than `before` (the last
    entry of the previous page): what `plein audit list` prints and `/web/admin/audit` shows."""
    statement = select(AuditEntry).order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()).limit(limit)
    if action:
        statement = statement.where(AuditEntry.action == action)
    if actor:
        statement = statement.where(AuditEntry.actor == actor)
    if before is not None:
        statement = statement.where(
            or_(
                AuditEntry.created_at < before.created_at,
                and_(AuditEntry.created_at == before.created_at, AuditEntry.id < before.id),
            )
        )
    return list((await session.execute(statement)).scalars())


async def audit_actions(session: AsyncSession) -> list[str]:
    """Every action the log holds, sorted (the filter's choices)."""
    statement = select(AuditEntry.action).distinct().order_by(AuditEntry.action)
    return list((await session.execute(statement)).scalars())
