"""page indexes: every paged list reads its page from one (owner, paging id) index; feed rows by status

Revision ID: page_indexes
Revises: moderation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "page_indexes"
down_revision = "moderation"
branch_labels = None
depends_on = None

# (index, table, columns): without them, a page of one account's bookmarks, favourites, follows or one
# hashtag walks the table's primary key backwards past every other account's (or tag's) newer rows.
INDEXES = (
    ("ix_bookmarks_account_id_id", "bookmarks", ["account_id", "id"]),
    ("ix_favourites_account_id_id", "favourites", ["account_id", "id"]),
    ("ix_follows_account_id_id", "follows", ["account_id", "id"]),
    ("ix_follows_target_account_id_id", "follows", ["target_account_id", "id"]),
    ("ix_status_tags_tag_id_status_id", "status_tags", ["tag_id", "status_id"]),
    # Not a page: a deleted status's rows leave every home feed in the deleting transaction (home pages
    # take their feed rows before the statuses), found by status instead of by scanning every feed.
    ("ix_home_feed_status_id", "home_feed", ["status_id"]),
)

# (index, table, condition): the few deleted statuses and suspended accounts, which notifications leave out;
# without them PostgreSQL scans the whole table for the few, once per page.
PARTIAL_INDEXES = (
    ("ix_statuses_deleted_id", "statuses", "deleted_at IS NOT NULL"),
    ("ix_accounts_suspended_id", "accounts", "suspended_at IS NOT NULL"),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)
    for name, table, condition in PARTIAL_INDEXES:
        where = sa.text(condition)
        op.create_index(name, table, ["id"], unique=False, postgresql_where=where, sqlite_where=where)


def downgrade() -> None:
    for name, table, _ in (*INDEXES, *PARTIAL_INDEXES):
        op.drop_index(name, table_name=table)
