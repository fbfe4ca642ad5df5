"""agency_website_verified: when the verified-agency mark's official website was found linking back to the
profile with rel="me" (the link verification of the `profile` queue)

Revision ID: agency_website_verified
Revises: report_assignees
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "agency_website_verified"
down_revision = "report_assignees"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "accounts",
        sa.Column("government_website_verified_at", storage.types.UTCDateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("accounts", "government_website_verified_at")
