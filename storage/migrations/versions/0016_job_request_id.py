"""job_request_id: the id of the request that queued a job, carried into the job's logs

Revision ID: job_request_id
Revises: custom_emojis
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "job_request_id"
down_revision = "custom_emojis"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("request_id", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("request_id")
