"""preview_cards: link preview cards shared by URL, the card of each status, accounts' attribution domains

Revision ID: preview_cards
Revises: organisations
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "preview_cards"
down_revision = "organisations"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column(
        "accounts", sa.Column("attribution_domains", sa.JSON(), nullable=False, server_default="[]")
    )
    op.create_table(
        "preview_cards",
        sa.Column("id", ID, nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("canonical_url", sa.String(length=2048), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("card_type", sa.String(length=16), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("author_name", sa.Text(), nullable=False),
        sa.Column("author_url", sa.String(length=2048), nullable=False),
        sa.Column("provider_name", sa.Text(), nullable=False),
        sa.Column("provider_url", sa.String(length=2048), nullable=False),
        sa.Column("embed_url", sa.String(length=2048), nullable=False),
        sa.Column("image_remote_url", sa.String(length=2048), nullable=True),
        sa.Column("image_file", sa.String(length=1024), nullable=True),
        sa.Column("image_width", sa.Integer(), nullable=False),
        sa.Column("image_height", sa.Integer(), nullable=False),
        sa.Column("image_description", sa.Text(), nullable=False),
        sa.Column("blurhash", sa.String(length=255), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("published_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("author_account_id", ID, nullable=True),
        sa.Column("trendable", sa.Boolean(), nullable=True),
        sa.Column("fetched_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_account_id"],
            ["accounts.id"],
            name=op.f("fk_preview_cards_author_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_preview_cards")),
        sa.UniqueConstraint("url", name=op.f("uq_preview_cards_url")),
    )
    op.create_index(op.f("ix_preview_cards_author_account_id"), "preview_cards", ["author_account_id"])
    op.create_table(
        "status_cards",
        sa.Column("status_id", ID, nullable=False),
        sa.Column("card_id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["status_id"],
            ["statuses.id"],
            name=op.f("fk_status_cards_status_id_statuses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["card_id"],
            ["preview_cards.id"],
            name=op.f("fk_status_cards_card_id_preview_cards"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("status_id", name=op.f("pk_status_cards")),
    )
    op.create_index(op.f("ix_status_cards_card_id"), "status_cards", ["card_id"])


def downgrade() -> None:
    op.drop_table("status_cards")
    op.drop_table("preview_cards")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("attribution_domains")
