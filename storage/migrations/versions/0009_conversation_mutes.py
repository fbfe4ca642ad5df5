"""conversation_mutes: threads a local account muted (no more notifications from them)

Revision ID: conversation_mutes
Revises: lists
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "conversation_mutes"
down_revision = "lists"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "conversation_mutes",
        sa.Column("id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("conversation", sa.String(length=2048), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_conversation_mutes_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_mutes")),
        sa.UniqueConstraint(
            "account_id", "conversation", name=op.f("uq_conversation_mutes_account_id_conversation")
        ),
    )
    op.create_index(
        op.f("ix_conversation_mutes_account_id"), "conversation_mutes", ["account_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("conversation_mutes")
