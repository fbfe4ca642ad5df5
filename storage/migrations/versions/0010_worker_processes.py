"""worker_processes: heartbeats of the processes running queue workers, so the running jobs of one that
died on any host are taken back within a minute instead of after their lease

Revision ID: worker_processes
Revises: conversation_mutes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "worker_processes"
down_revision = "conversation_mutes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "worker_processes",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("seen_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_worker_processes")),
    )


def downgrade() -> None:
    op.drop_table("worker_processes")
