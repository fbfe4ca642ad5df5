"""announcements: admins' announcements to local users, who dismiss them and react with emojis

Revision ID: announcements
Revises: push_subscriptions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "announcements"
down_revision = "push_subscriptions"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = storage.types.UTCDateTime(timezone=True)


def _per_account(table: str, *columns: sa.Column[object], unique: tuple[str, ...]) -> None:
    op.create_table(
        table,
        sa.Column("id", ID, nullable=False),
        sa.Column("announcement_id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        *columns,
        sa.ForeignKeyConstraint(
            ["announcement_id"],
            ["announcements.id"],
            name=op.f(f"fk_{table}_announcement_id_announcements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f(f"fk_{table}_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint(*unique, name=op.f(f"uq_{table}_{'_'.join(unique)}")),
    )
    op.create_index(op.f(f"ix_{table}_announcement_id"), table, ["announcement_id"], unique=False)
    op.create_index(op.f(f"ix_{table}_account_id"), table, ["account_id"], unique=False)


def upgrade() -> None:
    op.create_table(
        "announcements",
        sa.Column("id", ID, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("mention_ids", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("starts_at", TIME, nullable=True),
        sa.Column("ends_at", TIME, nullable=True),
        sa.Column("all_day", sa.Boolean(), nullable=False),
        sa.Column("published_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcements")),
    )
    _per_account("announcement_reads", unique=("announcement_id", "account_id"))
    _per_account(
        "announcement_reactions",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        unique=("announcement_id", "account_id", "name"),
    )


def downgrade() -> None:
    op.drop_table("announcement_reactions")
    op.drop_table("announcement_reads")
    op.drop_table("announcements")
