"""notification_requests: grouped notifications (`notifications.group_key`), notifications held back by the
recipient's policy (`notifications.filtered`), the policies, the requests they wait in and the senders a
recipient accepted

Revision ID: notification_requests
Revises: tags_conversations
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "notification_requests"
down_revision = "tags_conversations"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Plain ALTERs (no batch copy of the table): SQLite adds a NOT NULL column that has a default in place.
    op.add_column("notifications", sa.Column("group_key", sa.String(length=64), nullable=True))
    op.add_column(
        "notifications", sa.Column("filtered", sa.Boolean(), server_default=sa.text("false"), nullable=False)
    )
    op.create_index("ix_notifications_account_id_group_key", "notifications", ["account_id", "group_key"])
    op.create_table(
        "notification_policies",
        sa.Column("account_id", ID, nullable=False),
        sa.Column("for_not_following", sa.String(length=8), nullable=False),
        sa.Column("for_not_followers", sa.String(length=8), nullable=False),
        sa.Column("for_new_accounts", sa.String(length=8), nullable=False),
        sa.Column("for_private_mentions", sa.String(length=8), nullable=False),
        sa.Column("for_limited_accounts", sa.String(length=8), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_notification_policies_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_notification_policies")),
    )
    op.create_table(
        "notification_requests",
        sa.Column("id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("from_account_id", ID, nullable=False),
        sa.Column("last_status_id", ID, nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_notification_requests_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["from_account_id"],
            ["accounts.id"],
            name=op.f("fk_notification_requests_from_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["last_status_id"],
            ["statuses.id"],
            name=op.f("fk_notification_requests_last_status_id_statuses"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_requests")),
        sa.UniqueConstraint(
            "account_id", "from_account_id", name=op.f("uq_notification_requests_account_id_from_account_id")
        ),
    )
    op.create_index(
        "ix_notification_requests_account_id_id", "notification_requests", ["account_id", "id"], unique=False
    )
    op.create_index(
        op.f("ix_notification_requests_from_account_id"),
        "notification_requests",
        ["from_account_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_notification_requests_last_status_id"),
        "notification_requests",
        ["last_status_id"],
        unique=False,
    )
    op.create_table(
        "notification_permissions",
        sa.Column("id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("from_account_id", ID, nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_notification_permissions_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["from_account_id"],
            ["accounts.id"],
            name=op.f("fk_notification_permissions_from_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_permissions")),
        sa.UniqueConstraint(
            "account_id",
            "from_account_id",
            name=op.f("uq_notification_permissions_account_id_from_account_id"),
        ),
    )
    op.create_index(
        op.f("ix_notification_permissions_from_account_id"),
        "notification_permissions",
        ["from_account_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("notification_permissions")
    op.drop_table("notification_requests")
    op.drop_table("notification_policies")
    op.drop_index("ix_notifications_account_id_group_key", table_name="notifications")
    with op.batch_alter_table("notifications") as batch:  # SQLite drops columns by copying the table
        batch.drop_column("filtered")
        batch.drop_column("group_key")
