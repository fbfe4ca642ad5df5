"""organisations: accounts run by a team (members with roles, tokens acting for the organisation, drafts
waiting for review, an append-only audit trail) and the verified-agency mark

Revision ID: organisations
Revises: media_cache
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "organisations"
down_revision = "media_cache"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("review_required", sa.Boolean(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "organisation_members",
        sa.Column("id", ID, primary_key=True),
        sa.Column(
            "organisation_id",
            ID,
            sa.ForeignKey("organisations.account_id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("user_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("organisation_id", "user_id"),
    )
    op.create_table(
        "organisation_audit",
        sa.Column("id", ID, primary_key=True),
        sa.Column("organisation_id", ID, nullable=False),
        sa.Column("organisation", sa.String(255), nullable=False),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("login", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("via", sa.String(255), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(2048), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_organisation_audit_organisation_id_id", "organisation_audit", ["organisation_id", "id"]
    )
    # Append-only in the database itself, whatever the application does: updates are refused.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION organisation_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'organisation_audit is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER organisation_audit_no_update BEFORE UPDATE ON organisation_audit "
            "FOR EACH ROW EXECUTE FUNCTION organisation_audit_append_only()"
        )
    else:
        op.execute(
            "CREATE TRIGGER organisation_audit_no_update BEFORE UPDATE ON organisation_audit "
            "BEGIN SELECT RAISE(ABORT, 'organisation_audit is append-only'); END"
        )
    for table in ("oauth_tokens", "oauth_codes"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("acting_account_id", ID, nullable=True))
        op.create_index(f"ix_{table}_acting_account_id", table, ["acting_account_id"])
    op.add_column("scheduled_statuses", sa.Column("review_state", sa.String(16), nullable=True))
    op.add_column("scheduled_statuses", sa.Column("review_comment", sa.Text(), nullable=True))
    op.add_column("scheduled_statuses", sa.Column("submitted_by_user_id", ID, nullable=True))
    op.add_column("accounts", sa.Column("government_id", sa.String(2048), nullable=True))
    op.add_column("accounts", sa.Column("government_website", sa.String(2048), nullable=True))
    op.add_column(
        "accounts",
        sa.Column("government_verified_at", storage.types.UTCDateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    for column in ("government_verified_at", "government_website", "government_id"):
        op.execute(f"ALTER TABLE accounts DROP COLUMN {column}")
    for column in ("submitted_by_user_id", "review_comment", "review_state"):
        op.execute(f"ALTER TABLE scheduled_statuses DROP COLUMN {column}")
    for table in ("oauth_codes", "oauth_tokens"):
        op.drop_index(f"ix_{table}_acting_account_id", table)
        op.execute(f"ALTER TABLE {table} DROP COLUMN acting_account_id")
    op.drop_table("organisation_audit")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS organisation_audit_append_only()")
    op.drop_table("organisation_members")
    op.drop_table("organisations")
