"""filters: a local account's content filters, their keywords and the statuses they name

Revision ID: filters
Revises: announcements
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "filters"
down_revision = "announcements"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _created_at() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "filters",
        sa.Column("id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("title", sa.String(length=256), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("expires_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        _created_at(),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_filters_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_filters")),
    )
    op.create_index(op.f("ix_filters_account_id"), "filters", ["account_id"], unique=False)
    op.create_table(
        "filter_keywords",
        sa.Column("id", ID, nullable=False),
        sa.Column("filter_id", ID, nullable=False),
        sa.Column("keyword", sa.String(length=512), nullable=False),
        sa.Column("whole_word", sa.Boolean(), nullable=False),
        _created_at(),
        sa.ForeignKeyConstraint(
            ["filter_id"],
            ["filters.id"],
            name=op.f("fk_filter_keywords_filter_id_filters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_filter_keywords")),
    )
    op.create_index(op.f("ix_filter_keywords_filter_id"), "filter_keywords", ["filter_id"], unique=False)
    op.create_table(
        "filter_statuses",
        sa.Column("id", ID, nullable=False),
        sa.Column("filter_id", ID, nullable=False),
        sa.Column("status_id", ID, nullable=False),
        _created_at(),
        sa.ForeignKeyConstraint(
            ["filter_id"],
            ["filters.id"],
            name=op.f("fk_filter_statuses_filter_id_filters"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["status_id"],
            ["statuses.id"],
            name=op.f("fk_filter_statuses_status_id_statuses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_filter_statuses")),
        sa.UniqueConstraint("filter_id", "status_id", name=op.f("uq_filter_statuses_filter_id_status_id")),
    )
    op.create_index(op.f("ix_filter_statuses_filter_id"), "filter_statuses", ["filter_id"], unique=False)
    op.create_index(op.f("ix_filter_statuses_status_id"), "filter_statuses", ["status_id"], unique=False)


def downgrade() -> None:
    op.drop_table("filter_statuses")
    op.drop_table("filter_keywords")
    op.drop_table("filters")
