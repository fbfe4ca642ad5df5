"""instance_rules: the server's rules (cited by reports, which now keep the rule ids they cite)

Revision ID: instance_rules
Revises: worker_processes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "instance_rules"
down_revision = "worker_processes"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "instance_rules",
        sa.Column("id", ID, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("hint", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("removed_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instance_rules")),
    )
    op.add_column("reports", sa.Column("rule_ids", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("rule_ids")
    op.drop_table("instance_rules")
