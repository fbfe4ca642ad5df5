"""profiles: stored avatar and header files of accounts, endorsements (account_pins) and private notes on
accounts (account_notes)

Revision ID: profiles
Revises: notification_requests
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "profiles"
down_revision = "notification_requests"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _pair_table(name: str, *columns: sa.Column) -> None:  # type: ignore[type-arg]
    op.create_table(
        name,
        sa.Column("id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("target_account_id", ID, nullable=False),
        *columns,
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f(f"fk_{name}_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["target_account_id"],
            ["accounts.id"],
            name=op.f(f"fk_{name}_target_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint(
            "account_id", "target_account_id", name=op.f(f"uq_{name}_account_id_target_account_id")
        ),
    )
    op.create_index(op.f(f"ix_{name}_account_id"), name, ["account_id"], unique=False)
    op.create_index(op.f(f"ix_{name}_target_account_id"), name, ["target_account_id"], unique=False)


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("avatar_file", sa.String(length=1024), nullable=True))
        batch.add_column(sa.Column("header_file", sa.String(length=1024), nullable=True))
    _pair_table(
        "account_pins", sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False)
    )
    _pair_table(
        "account_notes",
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("account_notes")
    op.drop_table("account_pins")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("header_file")
        batch.drop_column("avatar_file")
