"""status_variants: the other languages of a multilingual status, and their revisions in status_edits

Revision ID: status_variants
Revises: groups
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "status_variants"
down_revision = "groups"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "status_variants",
        sa.Column("status_id", ID, nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("spoiler_text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["status_id"],
            ["statuses.id"],
            name=op.f("fk_status_variants_status_id_statuses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("status_id", "language", name=op.f("pk_status_variants")),
    )
    op.add_column("status_edits", sa.Column("variants", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("status_edits") as batch_op:
        batch_op.drop_column("variants")
    op.drop_table("status_variants")
