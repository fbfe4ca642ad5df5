"""The organisation audit trail's retention, on both backends: the hourly maintenance purge deletes entries
older than `organisations.audit_retention_days` and keeps the rest; 0 keeps everything; updates are refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from storage.db import Database
from storage.models import OrganisationAuditEntry
from storage.organisations import purge_audit
from storage.types import utcnow


def _entry(age_days: int) -> OrganisationAuditEntry:
    return OrganisationAuditEntry(
        organisation_id=1,
        organisation="ministry",
        user_id=2,
        login="anna",
        role="publisher",
        via="cli",
        action="Create Note",
        created_at=utcnow() - timedelta(days=age_days),
    )


async def test_entries_past_the_retention_period_go_and_the_rest_stay(db: Database) -> None:
    async with db.transaction() as session:
        session.add_all([_entry(400), _entry(10), _entry(0)])
    async with db.transaction() as session:
        assert await purge_audit(session, now=utcnow(), keep_days=0) == 0
        assert await purge_audit(session, now=utcnow(), keep_days=365) == 1
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(OrganisationAuditEntry)) == 2
    with pytest.raises(Exception, match="append-only"):
        async with db.transaction() as session:
            await session.execute(text("UPDATE organisation_audit SET action = 'nothing'"))
