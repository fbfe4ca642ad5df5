"""quotes: quote posts (FEP-044f) with the state of their approval, and who may quote a status

Revision ID: quotes
Revises: vocabulary
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "quotes"
down_revision = "vocabulary"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = storage.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.add_column("statuses", sa.Column("quote_policy", sa.String(length=16), nullable=True))
    op.create_table(
        "quotes",
        sa.Column("id", ID, nullable=False),
        sa.Column("status_id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("quoted_status_id", ID, nullable=True),
        sa.Column("quoted_uri", sa.String(length=2048), nullable=False),
        sa.Column("quoted_account_id", ID, nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("approval_uri", sa.String(length=2048), nullable=True),
        sa.Column("request_uri", sa.String(length=2048), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["status_id"], ["statuses.id"], name=op.f("fk_quotes_status_id_statuses"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_quotes_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["quoted_status_id"],
            ["statuses.id"],
            name=op.f("fk_quotes_quoted_status_id_statuses"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["quoted_account_id"],
            ["accounts.id"],
            name=op.f("fk_quotes_quoted_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quotes")),
        sa.UniqueConstraint("status_id", name=op.f("uq_quotes_status_id")),
    )
    indexed = (
        "account_id",
        "quoted_status_id",
        "quoted_uri",
        "quoted_account_id",
        "approval_uri",
        "request_uri",
    )
    for column in indexed:
        op.create_index(op.f(f"ix_quotes_{column}"), "quotes", [column], unique=False)


def downgrade() -> None:
    op.drop_table("quotes")
    with op.batch_alter_table("statuses") as batch:
        batch.drop_column("quote_policy")
