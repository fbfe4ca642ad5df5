"""lists: a local account's lists of followed accounts, their members and their fan-out feed rows

Revision ID: lists
Revises: reports
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "lists"
down_revision = "reports"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "lists",
        sa.Column("id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("title", sa.String(length=256), nullable=False),
        sa.Column("replies_policy", sa.String(length=16), nullable=False),
        sa.Column("exclusive", sa.Boolean(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_lists_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lists")),
    )
    op.create_index(op.f("ix_lists_account_id"), "lists", ["account_id"], unique=False)
    op.create_table(
        "list_accounts",
        sa.Column("id", ID, nullable=False),
        sa.Column("list_id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["list_id"], ["lists.id"], name=op.f("fk_list_accounts_list_id_lists"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_list_accounts_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_list_accounts")),
        sa.UniqueConstraint("list_id", "account_id", name=op.f("uq_list_accounts_list_id_account_id")),
    )
    op.create_index(op.f("ix_list_accounts_list_id"), "list_accounts", ["list_id"], unique=False)
    op.create_index(op.f("ix_list_accounts_account_id"), "list_accounts", ["account_id"], unique=False)
    op.create_table(
        "list_feed",
        sa.Column("list_id", ID, nullable=False),
        sa.Column("status_id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["list_id"], ["lists.id"], name=op.f("fk_list_feed_list_id_lists"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["status_id"], ["statuses.id"], name=op.f("fk_list_feed_status_id_statuses"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("list_id", "status_id", name=op.f("pk_list_feed")),
    )
    op.create_index("ix_list_feed_status_id", "list_feed", ["status_id"], unique=False)


def downgrade() -> None:
    op.drop_table("list_feed")
    op.drop_table("list_accounts")
    op.drop_table("lists")
