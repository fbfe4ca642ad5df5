"""Reading an organisation's audit trail (written by `storage.organisations.record_audit`): the export of
`plein org audit` and the web's download (the same bytes, CSV or JSON, oldest first), and the pages of the
web's audit view (newest first, filtered by staff login and action)."""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OrganisationAuditEntry
from storage.organisations import audit_entries

AUDIT_COLUMNS = (
    "id",
    "created_at",
    "organisation",
    "login",
    "role",
    "via",
    "action",
    "target",
    "before",
    "after",
)
EXPORT_FORMATS = ("csv", "json")


def audit_entry_to_row(entry: OrganisationAuditEntry) -> dict[str, Any]:
    """One entry as the export's row (ids as strings, times in ISO 8601)."""
    return {
        "id": str(entry.id),
        "created_at": entry.created_at.isoformat(),
        "organisation": entry.organisation,
        "login": entry.login,
        "role": entry.role,
        "via": entry.via,
        "action": entry.action,
        "target": entry.target,
        "before": entry.before,
        "after": entry.after,
    }


def audit_rows_to_csv(rows: list[dict[str, Any]]) -> str:
    """The rows as CSV with a header line; before/after as JSON."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(AUDIT_COLUMNS)
    for row in rows:
        writer.writerow(
            [
                orjson.dumps(row[column]).decode()
                if isinstance(row[column], (dict, list))
                else row[column] or ""
                for column in AUDIT_COLUMNS
            ]
        )
    return out.getvalue()


async def export_audit(session: AsyncSession, organisation_id: int, export_format: str) -> tuple[str, int]:
    """The whole trail of the organisation in `export_format` (csv or json), and how many entries."""
    rows = [audit_entry_to_row(entry) for entry in await audit_entries(session, organisation_id)]
    if export_format == "json":
        return orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n", len(rows)
    return audit_rows_to_csv(rows), len(rows)


async def audit_page(
    session: AsyncSession,
    organisation_id: int,
    *,
    login: str = "",
    action: str = "",
    max_id: int | None = None,
    limit: int = 50,
) -> list[OrganisationAuditEntry]:
    """Up to `limit` entries older than `max_id`, newest first, of one staff `login` and one `action` when
    given."""
    query = select(OrganisationAuditEntry).where(OrganisationAuditEntry.organisation_id == organisation_id)
    if login:
        query = query.where(OrganisationAuditEntry.login == login)
    if action:
        query = query.where(OrganisationAuditEntry.action == action)
    if max_id is not None:
        query = query.where(OrganisationAuditEntry.id < max_id)
    query = query.order_by(OrganisationAuditEntry.id.desc()).limit(limit)
    return list((await session.execute(query)).scalars())


async def audit_choices(session: AsyncSession, organisation_id: int) -> tuple[list[str], list[str]]:
    """The staff logins and the actions that occur in the trail (the web view's filters)."""
    where = OrganisationAuditEntry.organisation_id == organisation_id
    logins = await session.scalars(
        select(OrganisationAuditEntry.login).where(where).distinct().order_by(OrganisationAuditEntry.login)
    )
    actions = await session.scalars(
        select(OrganisationAuditEntry.action).where(where).distinct().order_by(OrganisationAuditEntry.action)
    )
    return list(logins), list(actions)
