"""reports: a local report keeps its category, whether it was forwarded, and the moderator's note

Revision ID: reports
Revises: user_mutes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "reports"
down_revision = "user_mutes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN with a default (both backends take it), not a batch copy of the table.
    op.add_column(
        "reports", sa.Column("category", sa.String(length=16), nullable=False, server_default="other")
    )
    op.add_column("reports", sa.Column("forwarded", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("reports", sa.Column("resolution_note", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_column("resolution_note")
        batch_op.drop_column("forwarded")
        batch_op.drop_column("category")
