"""status_locks: when a remote group locked a post (Lemmy's `Lock`), so local replies to it are refused

Revision ID: status_locks
Revises: domain_block_comments
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "status_locks"
down_revision = "domain_block_comments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("statuses") as batch_op:
        batch_op.add_column(sa.Column("locked_at", storage.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("statuses") as batch_op:
        batch_op.drop_column("locked_at")
