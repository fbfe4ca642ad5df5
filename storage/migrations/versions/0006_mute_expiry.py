"""mute expiry: a mute with a duration carries when it stops applying

Revision ID: mute_expiry
Revises: page_indexes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "mute_expiry"
down_revision = "page_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mutes") as batch:
        batch.add_column(sa.Column("expires_at", storage.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mutes") as batch:
        batch.drop_column("expires_at")
