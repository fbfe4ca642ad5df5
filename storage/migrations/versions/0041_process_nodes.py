"""process_nodes: a counter handing each starting process the node bits of its ids (storage.ids)

Revision ID: process_nodes
Revises: appeals
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "process_nodes"
down_revision = "appeals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "process_nodes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("started_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_process_nodes")),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("process_nodes")
