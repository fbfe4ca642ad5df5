"""login_sessions: signed-in browsers of the web interface; the TOTP second factor on users

Revision ID: login_sessions
Revises: quotes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "login_sessions"
down_revision = "quotes"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "login_sessions",
        sa.Column("id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("second_factor_done", sa.Boolean(), nullable=False),
        sa.Column("user_agent", sa.String(length=256), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_login_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_login_sessions_token_hash")),
    )
    op.create_index(op.f("ix_login_sessions_user_id"), "login_sessions", ["user_id"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column("totp_enabled_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("recovery_code_hashes", sa.JSON(), nullable=True))
    # Nothing could set a user's locale before the web interface: the "en" every row holds was the column's
    # default, not a choice, so it gives way to the browser's languages.
    op.execute("UPDATE users SET locale = '' WHERE locale = 'en'")


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("recovery_code_hashes")
        batch.drop_column("totp_enabled_at")
        batch.drop_column("totp_secret")
    op.drop_table("login_sessions")
