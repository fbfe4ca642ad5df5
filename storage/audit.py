"""The moderation audit log: one row per moderation action, written in the action's own transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
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


async def recent_audit_entries(session: AsyncSession, *, limit: int = 50) -> list[AuditEntry]:
    """The newest entries first."""
    statement = select(AuditEntry).order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()).limit(limit)
    return list((await session.execute(statement)).scalars())
