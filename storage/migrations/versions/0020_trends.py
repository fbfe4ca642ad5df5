"""trends: moderators' review of what may trend (tags need an approval, statuses can be refused)

Revision ID: trends
Revises: profiles
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "trends"
down_revision = "profiles"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tags", sa.Column("trendable", sa.Boolean(), nullable=True))
    op.add_column("statuses", sa.Column("trendable", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("statuses") as batch:
        batch.drop_column("trendable")
    with op.batch_alter_table("tags") as batch:
        batch.drop_column("trendable")
