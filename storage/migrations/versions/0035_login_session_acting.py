"""login_session_acting: the account a web session acts as (an organisation the login belongs to)

Revision ID: login_session_acting
Revises: status_variants
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "login_session_acting"
down_revision = "status_variants"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # No foreign key (as `oauth_tokens.acting_account_id`): SQLite would need the table rebuilt; the
    # membership is checked at every request, so a deleted organisation's id is read as acting as oneself.
    op.add_column("login_sessions", sa.Column("acting_account_id", ID, nullable=True))


def downgrade() -> None:
    op.drop_column("login_sessions", "acting_account_id")
