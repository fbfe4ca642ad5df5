"""relays: the relays this server subscribes to, with their state and counts

Revision ID: relays
Revises: login_sessions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "relays"
down_revision = "login_sessions"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "relays",
        sa.Column("id", ID, nullable=False),
        sa.Column("inbox_url", sa.String(length=2048), nullable=False),
        sa.Column("follow_uri", sa.String(length=2048), nullable=False),
        sa.Column("actor_uri", sa.String(length=2048), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("state_changed_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_received_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("received_count", sa.BigInteger(), nullable=False),
        sa.Column("sent_count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relays")),
        sa.UniqueConstraint("inbox_url", name=op.f("uq_relays_inbox_url")),
        sa.UniqueConstraint("follow_uri", name=op.f("uq_relays_follow_uri")),
    )
    op.create_index(op.f("ix_relays_actor_uri"), "relays", ["actor_uri"])


def downgrade() -> None:
    op.drop_table("relays")
