"""groups: the moderators of local groups (`Group` actors, FEP-1b12)

Revision ID: groups
Revises: agency_website_verified
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "groups"
down_revision = "agency_website_verified"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "group_moderators",
        sa.Column("id", ID, primary_key=True),
        sa.Column(
            "group_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True
        ),
        sa.Column(
            "account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True
        ),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("group_id", "account_id"),
    )


def downgrade() -> None:
    op.drop_table("group_moderators")
