"""canonical hosts: rewrite stored hosts and domains in their canonical form (`apub.hosts.canonical_host`)

Before it, hosts were compared as lower-cased text, so `blocked.test.`, `blocked.test:443` or a Unicode
spelling of an IDN could be stored next to (and escape) the canonical one. Data only, no schema change:

- `domain_blocks`, `domain_allows`: rows that name the same canonical domain are merged (the strictest
  severity, reject-media / reject-reports if any row had them, the comments joined);
- `accounts.domain`: rewritten, except where the canonical (username, domain) is already taken by another
  account (two actors claiming one address: both are kept as they are, for a moderator to look at);
- `delivery_hosts.host`: rewritten; a duplicate of an existing canonical row is dropped (it is only
  circuit-breaker state);
- `jobs.host` of unfinished jobs: rewritten.

Values that have no canonical form (malformed) are left as they are: they can match no canonical host.

Revision ID: canonical_hosts
Revises: 0001
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from apub.errors import InvalidHost
from apub.hosts import canonical_host

revision = "canonical_hosts"
down_revision = "0001"
branch_labels = None
depends_on = None

SEVERITY_RANK = {"noop": 0, "silence": 1, "suspend": 2}


def _canonical(value: str) -> str | None:
    """The canonical form of a stored host, or None when it has none or already is canonical."""
    try:
        canonical = canonical_host(value)
    except InvalidHost:
        return None
    return canonical if canonical != value else None


def _rewrites(connection: sa.Connection, query: str) -> dict[str, str]:
    return {
        value: canonical
        for (value,) in connection.execute(sa.text(query))
        if value is not None and (canonical := _canonical(value)) is not None
    }


def _merge_domain_blocks(connection: sa.Connection) -> None:
    columns = "domain, severity, reject_media, reject_reports, comment, created_at"
    rows = {row.domain: row for row in connection.execute(sa.text(f"SELECT {columns} FROM domain_blocks"))}
    for old, new in _rewrites(connection, "SELECT domain FROM domain_blocks").items():
        moved, kept = rows[old], rows.get(new)
        merged: dict[str, Any] = {
            "domain": new,
            "severity": moved.severity,
            "reject_media": moved.reject_media,
            "reject_reports": moved.reject_reports,
            "comment": moved.comment,
            "created_at": moved.created_at,
        }
        if kept is not None:
            if SEVERITY_RANK.get(kept.severity, 0) > SEVERITY_RANK.get(moved.severity, 0):
                merged["severity"] = kept.severity
            merged["reject_media"] = bool(kept.reject_media or moved.reject_media)
            merged["reject_reports"] = bool(kept.reject_reports or moved.reject_reports)
            comments = [comment for comment in (kept.comment, moved.comment) if comment]
            merged["comment"] = "\n".join(dict.fromkeys(comments))
            merged["created_at"] = min(kept.created_at, moved.created_at)
            connection.execute(sa.text("DELETE FROM domain_blocks WHERE domain = :domain"), {"domain": new})
        connection.execute(sa.text("DELETE FROM domain_blocks WHERE domain = :domain"), {"domain": old})
        connection.execute(
            sa.text(
                f"INSERT INTO domain_blocks ({columns}) VALUES "
                "(:domain, :severity, :reject_media, :reject_reports, :comment, :created_at)"
            ),
            merged,
        )
        rows.pop(old)
        rows[new] = connection.execute(
            sa.text(f"SELECT {columns} FROM domain_blocks WHERE domain = :domain"), {"domain": new}
        ).one()


def _move_unique_rows(connection: sa.Connection, table: str, column: str) -> None:
    """Rename each non-canonical key; where the canonical key exists already, drop the duplicate."""
    for old, new in _rewrites(connection, f"SELECT {column} FROM {table}").items():
        exists = connection.execute(
            sa.text(f"SELECT 1 FROM {table} WHERE {column} = :new"), {"new": new}
        ).first()
        if exists is not None:
            connection.execute(sa.text(f"DELETE FROM {table} WHERE {column} = :old"), {"old": old})
        else:
            connection.execute(
                sa.text(f"UPDATE {table} SET {column} = :new WHERE {column} = :old"), {"new": new, "old": old}
            )


def _rewrite_account_domains(connection: sa.Connection) -> None:
    for old, new in _rewrites(connection, "SELECT DISTINCT domain FROM accounts").items():
        taken = {
            username
            for (username,) in connection.execute(
                sa.text("SELECT lower(username) FROM accounts WHERE domain = :new"), {"new": new}
            )
        }
        moving = connection.execute(
            sa.text("SELECT id, lower(username) FROM accounts WHERE domain = :old"), {"old": old}
        ).all()
        for account_id, username in moving:
            if username in taken:
                continue
            connection.execute(
                sa.text("UPDATE accounts SET domain = :new WHERE id = :id"), {"new": new, "id": account_id}
            )
            taken.add(username)


def upgrade() -> None:
    connection = op.get_bind()
    _merge_domain_blocks(connection)
    _move_unique_rows(connection, "domain_allows", "domain")
    _move_unique_rows(connection, "delivery_hosts", "host")
    _rewrite_account_domains(connection)
    for old, new in _rewrites(
        connection, "SELECT DISTINCT host FROM jobs WHERE state IN ('pending', 'running')"
    ).items():
        connection.execute(
            sa.text("UPDATE jobs SET host = :new WHERE host = :old AND state IN ('pending', 'running')"),
            {"new": new, "old": old},
        )


def downgrade() -> None:
    """Nothing to undo: the canonical spellings are valid values of the same columns."""
