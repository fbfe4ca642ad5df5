"""media_cache: when our copy of a remote attachment was fetched (pruned after media.remote_cache_days)

Revision ID: media_cache
Revises: signup
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "media_cache"
down_revision = "signup"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "media_attachments", sa.Column("cached_at", storage.types.UTCDateTime(timezone=True), nullable=True)
    )
    op.create_index(op.f("ix_media_attachments_cached_at"), "media_attachments", ["cached_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_media_attachments_cached_at"), table_name="media_attachments")
    with op.batch_alter_table("media_attachments") as batch:
        batch.drop_column("cached_at")
