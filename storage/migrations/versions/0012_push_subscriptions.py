"""push_subscriptions: apps' Web Push subscriptions, one per access token

Revision ID: push_subscriptions
Revises: instance_rules
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "push_subscriptions"
down_revision = "instance_rules"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "push_subscriptions",
        sa.Column("id", ID, nullable=False),
        sa.Column("token_id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("endpoint", sa.String(length=2048), nullable=False),
        sa.Column("key_p256dh", sa.String(length=256), nullable=False),
        sa.Column("key_auth", sa.String(length=64), nullable=False),
        sa.Column("standard", sa.Boolean(), nullable=False),
        sa.Column("alerts", sa.JSON(), nullable=False),
        sa.Column("policy", sa.String(length=16), nullable=False),
        sa.Column("sealed_token", sa.Text(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_push_subscriptions_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["token_id"],
            ["oauth_tokens.id"],
            name=op.f("fk_push_subscriptions_token_id_oauth_tokens"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_subscriptions")),
        sa.UniqueConstraint("token_id", name=op.f("uq_push_subscriptions_token_id")),
    )
    op.create_index(
        op.f("ix_push_subscriptions_account_id"), "push_subscriptions", ["account_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("push_subscriptions")
