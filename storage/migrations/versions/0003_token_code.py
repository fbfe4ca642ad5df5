"""access tokens remember the authorization code they were issued for

Revision ID: token_code
Revises: canonical_hosts
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "token_code"
down_revision = "canonical_hosts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A reused code must revoke every token issued from it (RFC 6749 §4.1.2), so the token names its code.
    with op.batch_alter_table("oauth_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("code_hash", sa.String(length=128), nullable=True))
        batch_op.create_index(batch_op.f("ix_oauth_tokens_code_hash"), ["code_hash"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("oauth_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_tokens_code_hash"))
        batch_op.drop_column("code_hash")
