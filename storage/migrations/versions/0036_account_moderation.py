"""account_moderation: disabled logins, sensitized accounts, account warnings and who resolved a report

Revision ID: account_moderation
Revises: login_session_acting
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "account_moderation"
down_revision = "login_session_acting"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("users", sa.Column("disabled_at", storage.types.UTCDateTime(timezone=True)))
    op.add_column("accounts", sa.Column("sensitized_at", storage.types.UTCDateTime(timezone=True)))
    # No foreign keys on added columns (as `reports.assigned_account_id`): SQLite would need the table
    # rebuilt; an id whose row is gone is read as nobody / no warning.
    op.add_column("reports", sa.Column("action_taken_by_account_id", ID, nullable=True))
    op.add_column("notifications", sa.Column("account_warning_id", ID, nullable=True))
    op.create_table(
        "account_warnings",
        sa.Column("id", ID, primary_key=True),
        sa.Column(
            "target_account_id",
            ID,
            sa.ForeignKey("accounts.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column(
            "account_id", ID, sa.ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True, index=True
        ),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "report_id", ID, sa.ForeignKey("reports.id", ondelete="SET NULL"), nullable=True, index=True
        ),
        sa.Column("status_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("account_warnings")
    op.drop_column("notifications", "account_warning_id")
    op.drop_column("reports", "action_taken_by_account_id")
    op.drop_column("accounts", "sensitized_at")
    op.drop_column("users", "disabled_at")
