"""domain_block_comments: a block's public and private comment, and obfuscation (as Mastodon's DomainBlock)

Revision ID: domain_block_comments
Revises: login_session_acting

The one `comment` was answered as both comments by the admin API and published (when reasons are shown) by
`/api/v1/instance/domain_blocks`: it becomes the public comment, and the private comment starts as a copy of
it, so every answer stays what it was until an admin separates the two.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "domain_block_comments"
down_revision = "instance_setting_overrides"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("domain_blocks") as batch_op:
        batch_op.alter_column("comment", new_column_name="public_comment", existing_type=sa.Text())
        batch_op.add_column(sa.Column("private_comment", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("obfuscate", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE domain_blocks SET private_comment = public_comment")


def downgrade() -> None:
    with op.batch_alter_table("domain_blocks") as batch_op:
        batch_op.drop_column("obfuscate")
        batch_op.drop_column("private_comment")
        batch_op.alter_column("public_comment", new_column_name="comment", existing_type=sa.Text())
