"""instance_setting_overrides: the instance's settings as an admin changed them in the browser

Revision ID: instance_setting_overrides
Revises: account_moderation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "instance_setting_overrides"
down_revision = "account_moderation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "instance_setting_overrides",
        sa.Column("domain", sa.String(255), primary_key=True),
        sa.Column("field", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(255), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("instance_setting_overrides")
