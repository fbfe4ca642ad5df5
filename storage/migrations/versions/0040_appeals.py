"""appeals: an account's appeal against its warning, and a warning overruled (Mastodon's Appeal)

Revision ID: appeals
Revises: status_locks
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "appeals"
down_revision = "status_locks"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("account_warnings", sa.Column("overruled_at", storage.types.UTCDateTime(timezone=True)))
    op.create_table(
        "appeals",
        sa.Column("id", ID, primary_key=True),
        sa.Column(
            "account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True
        ),
        sa.Column(
            "account_warning_id",
            ID,
            sa.ForeignKey("account_warnings.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("approved_at", storage.types.UTCDateTime(timezone=True)),
        sa.Column(
            "approved_by_account_id",
            ID,
            sa.ForeignKey("accounts.id", ondelete="SET NULL"),
            nullable=True,
            index=True,
        ),
        sa.Column("rejected_at", storage.types.UTCDateTime(timezone=True)),
        sa.Column(
            "rejected_by_account_id",
            ID,
            sa.ForeignKey("accounts.id", ondelete="SET NULL"),
            nullable=True,
            index=True,
        ),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("appeals")
    op.drop_column("account_warnings", "overruled_at")
