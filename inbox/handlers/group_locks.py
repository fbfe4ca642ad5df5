"""Lemmy's post lock as a remote group announces it (`Lock` / `Undo(Lock)` by a moderator): while a post
the group shared is locked, people here may not reply to it (`outbox.actions.statuses.post_status` refuses
with 422). Who may lock is decided by `inbox.handlers.group_moderation`."""

from __future__ import annotations

import logging

from storage.bus import Event
from storage.context import Context
from storage.models import Account
from storage.statuses import boost_of, status_by_uri
from storage.types import utcnow

logger = logging.getLogger(__name__)


async def lock_shared_post(
    ctx: Context, group: Account, status_uri: str | None, *, locked: bool
) -> list[Event]:
    """Lock (or unlock) a post the group shared; a post it did not share is not the group's to lock."""
    async with ctx.db.transaction() as session:
        status = await status_by_uri(session, status_uri) if status_uri else None
        if status is None or status.deleted_at is not None:
            return []
        if await boost_of(session, group.id, status.id) is None:
            logger.info("lock of %s by %s ignored: the group did not share it", status_uri, group.uri)
            return []
        if locked and status.locked_at is None:
            status.locked_at = utcnow()
        elif not locked:
            status.locked_at = None
    return []
