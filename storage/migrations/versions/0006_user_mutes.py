"""user mutes: a mute with a duration carries when it stops applying; a user's own domain blocks

Revision ID: user_mutes
Revises: page_indexes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "user_mutes"
down_revision = "page_indexes"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("mutes") as batch:
        batch.add_column(sa.Column("expires_at", storage.types.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        "account_domain_blocks",
        sa.Column("id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_account_domain_blocks_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_domain_blocks")),
        sa.UniqueConstraint("account_id", "domain", name=op.f("uq_account_domain_blocks_account_id_domain")),
    )
    op.create_index(
        op.f("ix_account_domain_blocks_account_id"), "account_domain_blocks", ["account_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_account_domain_blocks_account_id"), table_name="account_domain_blocks")
    op.drop_table("account_domain_blocks")
    with op.batch_alter_table("mutes") as batch:
        batch.drop_column("expires_at")
