"""signup: invites, mailed single-use user tokens, and the confirmation, reason and invite of a user

Revision ID: signup
Revises: relays
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "signup"
down_revision = "relays"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = storage.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "invites",
        sa.Column("id", ID, nullable=False),
        sa.Column("code_hash", sa.String(length=128), nullable=False),
        sa.Column("created_by_account_id", ID, nullable=True),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("expires_at", WHEN, nullable=True),
        sa.Column("revoked_at", WHEN, nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_invites_created_by_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invites")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_invites_code_hash")),
    )
    op.create_index(op.f("ix_invites_created_by_account_id"), "invites", ["created_by_account_id"])
    op.create_table(
        "user_tokens",
        sa.Column("id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=128), nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.Column("used_at", WHEN, nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_user_tokens_token_hash")),
    )
    op.create_index(op.f("ix_user_tokens_user_id"), "user_tokens", ["user_id"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("confirmed_at", WHEN, nullable=True))
        batch.add_column(sa.Column("sign_up_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("invite_id", ID, nullable=True))
    op.create_index(op.f("ix_users_invite_id"), "users", ["invite_id"])
    # Every login made before sign-up existed came from the CLI, which needs no confirmation.
    op.execute("UPDATE users SET confirmed_at = created_at")


def downgrade() -> None:
    op.drop_index(op.f("ix_users_invite_id"), "users")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("invite_id")
        batch.drop_column("sign_up_reason")
        batch.drop_column("confirmed_at")
    op.drop_table("user_tokens")
    op.drop_table("invites")
