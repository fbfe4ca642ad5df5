"""tags_conversations: followed hashtags, featured hashtags and direct-message conversations

Revision ID: tags_conversations
Revises: job_request_id
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "tags_conversations"
down_revision = "job_request_id"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "tag_follows",
        sa.Column("id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("tag_id", ID, nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        _fk("tag_follows", "account_id", "accounts"),
        _fk("tag_follows", "tag_id", "tags"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tag_follows")),
        sa.UniqueConstraint("account_id", "tag_id", name=op.f("uq_tag_follows_account_id_tag_id")),
    )
    op.create_index(op.f("ix_tag_follows_account_id"), "tag_follows", ["account_id"])
    op.create_index(op.f("ix_tag_follows_tag_id"), "tag_follows", ["tag_id"])
    op.create_index("ix_tag_follows_account_id_id", "tag_follows", ["account_id", "id"])

    op.create_table(
        "featured_tags",
        sa.Column("id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("tag_id", ID, nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        _fk("featured_tags", "account_id", "accounts"),
        _fk("featured_tags", "tag_id", "tags"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_featured_tags")),
        sa.UniqueConstraint("account_id", "tag_id", name=op.f("uq_featured_tags_account_id_tag_id")),
    )
    op.create_index(op.f("ix_featured_tags_account_id"), "featured_tags", ["account_id"])
    op.create_index(op.f("ix_featured_tags_tag_id"), "featured_tags", ["tag_id"])

    op.create_table(
        "account_conversations",
        sa.Column("id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("conversation_key", sa.String(length=64), nullable=False),
        sa.Column("conversation", sa.String(length=2048), nullable=False),
        sa.Column("participant_ids", sa.JSON(), nullable=False),
        sa.Column("last_status_id", ID, nullable=False),
        sa.Column("unread", sa.Boolean(), nullable=False),
        _fk("account_conversations", "account_id", "accounts"),
        _fk("account_conversations", "last_status_id", "statuses"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_conversations")),
        sa.UniqueConstraint(
            "account_id",
            "conversation_key",
            name=op.f("uq_account_conversations_account_id_conversation_key"),
        ),
    )
    op.create_index(op.f("ix_account_conversations_account_id"), "account_conversations", ["account_id"])
    op.create_index(
        op.f("ix_account_conversations_last_status_id"), "account_conversations", ["last_status_id"]
    )
    op.create_index(
        "ix_account_conversations_account_id_last_status_id",
        "account_conversations",
        ["account_id", "last_status_id"],
    )


def downgrade() -> None:
    op.drop_table("account_conversations")
    op.drop_table("featured_tags")
    op.drop_table("tag_follows")
