"""polls: polls and their votes, scheduled statuses (with the media they reserve); remote polls, kept until now
as JSON in `statuses.poll`, move to `polls`

Revision ID: polls
Revises: trends
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

import storage.types
from storage.ids import new_id

revision = "polls"
down_revision = "trends"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = storage.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "polls",
        sa.Column("id", ID, nullable=False),
        sa.Column("status_id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("tallies", sa.JSON(), nullable=False),
        sa.Column("multiple", sa.Boolean(), nullable=False),
        sa.Column("hide_totals", sa.Boolean(), nullable=False),
        sa.Column("votes_count", sa.Integer(), nullable=False),
        sa.Column("voters_count", sa.Integer(), nullable=True),
        sa.Column("expires_at", TIME, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_polls_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["status_id"], ["statuses.id"], name=op.f("fk_polls_status_id_statuses"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_polls")),
        sa.UniqueConstraint("status_id", name=op.f("uq_polls_status_id")),
    )
    op.create_index(op.f("ix_polls_account_id"), "polls", ["account_id"], unique=False)
    op.create_table(
        "poll_votes",
        sa.Column("id", ID, nullable=False),
        sa.Column("poll_id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("choice", sa.Integer(), nullable=False),
        sa.Column("uri", sa.String(length=2048), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_poll_votes_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["poll_id"], ["polls.id"], name=op.f("fk_poll_votes_poll_id_polls"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_poll_votes")),
        sa.UniqueConstraint("uri", name=op.f("uq_poll_votes_uri")),
    )
    op.create_index(op.f("ix_poll_votes_account_id"), "poll_votes", ["account_id"], unique=False)
    op.create_index("ix_poll_votes_poll_id_account_id", "poll_votes", ["poll_id", "account_id"], unique=False)
    op.create_table(
        "scheduled_statuses",
        sa.Column("id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("scheduled_at", TIME, nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_scheduled_statuses_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_statuses")),
    )
    op.create_index(
        "ix_scheduled_statuses_account_id_scheduled_at",
        "scheduled_statuses",
        ["account_id", "scheduled_at"],
        unique=False,
    )
    _add_media_reservation()
    _move_remote_polls()
    # A plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35): `statuses` is referenced by most tables, so it is
    # not rebuilt the batch way.
    op.execute("ALTER TABLE statuses DROP COLUMN poll")


def _add_media_reservation() -> None:
    """media_attachments.scheduled_status_id and its index (no foreign key: see the model)."""
    op.add_column("media_attachments", sa.Column("scheduled_status_id", ID, nullable=True))
    op.create_index(
        op.f("ix_media_attachments_scheduled_status_id"), "media_attachments", ["scheduled_status_id"]
    )


def _move_remote_polls() -> None:
    """Each remote status's poll JSON (options with counts, multiple, expires_at, voters_count) as a row."""
    statuses = sa.table(
        "statuses", sa.column("id", ID), sa.column("account_id", ID), sa.column("poll", sa.JSON())
    )
    polls = sa.table(
        "polls",
        *(sa.column(name) for name in ("id", "status_id", "account_id", "multiple", "hide_totals")),
        sa.column("options", sa.JSON()),
        sa.column("tallies", sa.JSON()),
        sa.column("votes_count", sa.Integer()),
        sa.column("voters_count", sa.Integer()),
        sa.column("expires_at", TIME),
        sa.column("created_at", TIME),
        sa.column("updated_at", TIME),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(statuses.c.id, statuses.c.account_id, statuses.c.poll).where(statuses.c.poll.is_not(None))
    ).all()
    now = storage.types.utcnow()
    moved: list[dict[str, Any]] = []
    for status_id, account_id, poll in rows:
        if not isinstance(poll, dict) or not poll.get("options"):
            continue
        options = [option for option in poll["options"] if isinstance(option, dict)]
        tallies = [int(option.get("votes_count") or 0) for option in options]
        expires = poll.get("expires_at")
        moved.append(
            {
                "id": new_id(),
                "status_id": status_id,
                "account_id": account_id,
                "options": [str(option.get("title", "")) for option in options],
                "tallies": tallies,
                "multiple": bool(poll.get("multiple")),
                "hide_totals": False,
                "votes_count": sum(tallies),
                "voters_count": poll.get("voters_count"),
                "expires_at": datetime.fromisoformat(expires) if isinstance(expires, str) else None,
                "created_at": now,
                "updated_at": now,
            }
        )
    if moved:
        connection.execute(polls.insert(), moved)


def downgrade() -> None:
    op.add_column("statuses", sa.Column("poll", sa.JSON(), nullable=True))
    op.drop_index(op.f("ix_media_attachments_scheduled_status_id"), "media_attachments")
    op.execute("ALTER TABLE media_attachments DROP COLUMN scheduled_status_id")
    op.drop_table("scheduled_statuses")
    op.drop_table("poll_votes")
    op.drop_table("polls")
