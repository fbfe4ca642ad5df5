"""report_assignees: the moderator a report is assigned to (admin API assign_to_self / unassign)

Revision ID: report_assignees
Revises: preview_cards
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "report_assignees"
down_revision = "preview_cards"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # No foreign key (as `oauth_tokens.acting_account_id`): SQLite would need the table rebuilt; a
    # deleted assignee's id is read as no assignee.
    op.add_column("reports", sa.Column("assigned_account_id", ID, nullable=True))
    op.create_index(op.f("ix_reports_assigned_account_id"), "reports", ["assigned_account_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_reports_assigned_account_id"), "reports")
    op.drop_column("reports", "assigned_account_id")
