"""vocabulary: the title of received Articles and Pages, the emoji of a reaction, an account's deletion date

Revision ID: vocabulary
Revises: suggestion_dismissals
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "vocabulary"
down_revision = "suggestion_dismissals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("statuses", sa.Column("title", sa.Text(), nullable=True))
    op.add_column("favourites", sa.Column("reaction", sa.String(length=255), nullable=True))
    op.add_column(
        "accounts", sa.Column("deletion_due_at", storage.types.UTCDateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.execute("ALTER TABLE accounts DROP COLUMN deletion_due_at")
    op.execute("ALTER TABLE favourites DROP COLUMN reaction")
    op.execute("ALTER TABLE statuses DROP COLUMN title")
