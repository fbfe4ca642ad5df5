"""custom_emojis: local and remote custom emojis, and the emojis each account's profile uses

Revision ID: custom_emojis
Revises: filters
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "custom_emojis"
down_revision = "filters"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "custom_emojis",
        sa.Column("id", ID, nullable=False),
        sa.Column("shortcode", sa.String(length=128), nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=True),
        sa.Column("uri", sa.String(length=2048), nullable=True),
        sa.Column("image_url", sa.String(length=2048), nullable=True),
        sa.Column("file_path", sa.String(length=255), nullable=True),
        sa.Column("content_type", sa.String(length=64), nullable=True),
        sa.Column("visible_in_picker", sa.Boolean(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_emojis")),
        sa.UniqueConstraint("shortcode", "domain", name=op.f("uq_custom_emojis_shortcode_domain")),
    )
    op.add_column("accounts", sa.Column("emojis", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("emojis")
    op.drop_table("custom_emojis")
