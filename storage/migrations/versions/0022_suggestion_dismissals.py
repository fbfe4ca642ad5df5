"""suggestion_dismissals: accounts a user asked not to be suggested again

Revision ID: suggestion_dismissals
Revises: polls
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "suggestion_dismissals"
down_revision = "polls"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "suggestion_dismissals",
        sa.Column("id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("target_account_id", ID, nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_suggestion_dismissals_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_account_id"],
            ["accounts.id"],
            name=op.f("fk_suggestion_dismissals_target_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suggestion_dismissals")),
        sa.UniqueConstraint(
            "account_id",
            "target_account_id",
            name=op.f("uq_suggestion_dismissals_account_id_target_account_id"),
        ),
    )
    op.create_index(op.f("ix_suggestion_dismissals_account_id"), "suggestion_dismissals", ["account_id"])
    op.create_index(
        op.f("ix_suggestion_dismissals_target_account_id"), "suggestion_dismissals", ["target_account_id"]
    )


def downgrade() -> None:
    op.drop_table("suggestion_dismissals")
