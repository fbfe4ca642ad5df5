"""Helpers for working-group tests: a group's live boost of a post, and whether a reader's home has it."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import HomeFeedEntry, Status
from support.federation import Instance


async def group_boost(instance: Instance, group_uri: str, original_uri: str) -> Status | None:
    """The group's live boost of a post, as `instance` stores it."""
    group = await instance.account(group_uri)
    original = await instance.status(original_uri)
    if group is None or original is None:
        return None
    async with instance.ctx.db.read() as session:
        return (
            await session.execute(
                select(Status).where(
                    Status.account_id == group.id,
                    Status.reblog_of_id == original.id,
                    Status.deleted_at.is_(None),
                )
            )
        ).scalar_one_or_none()


async def in_home(instance: Instance, reader_id: int, status_id: int) -> bool:
    """Whether the status is in the reader's home timeline on `instance`."""
    return (
        await instance.count(
            HomeFeedEntry, HomeFeedEntry.account_id == reader_id, HomeFeedEntry.status_id == status_id
        )
        == 1
    )
