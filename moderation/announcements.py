"""Announcements by an admin: published or withdrawn in one transaction with the audit entry.

The text is written like a status (links, local mentions, hashtags rendered the same way); only local
accounts are linked, since an announcement never leaves this server.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from moderation.errors import ModerationError, NothingToUndo
from outbox.content import hashtags, mentioned_handles, text_to_html
from outbox.mentions import mention_targets
from storage.audit import add_audit_entry
from storage.bus import Event
from storage.context import Context
from storage.models import Account, Announcement
from storage.queue import ClaimedJob, enqueue
from storage.urls import LocalUrls

MAX_ANNOUNCEMENT_TEXT = 5000
ANNOUNCEMENTS_TOPIC = "announcements"  # every local user's stream carries it
ANNOUNCEMENTS_QUEUE = "announcements"


@dataclass(frozen=True)
class AnnouncementRequest:
    text: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    all_day: bool = False


async def publish_announcement(ctx: Context, request: AnnouncementRequest, *, actor: str) -> Announcement:
    text = request.text.strip()
    if not text or len(text) > MAX_ANNOUNCEMENT_TEXT:
        raise ModerationError(f"an announcement needs a text of at most {MAX_ANNOUNCEMENT_TEXT} characters")
    if request.starts_at and request.ends_at and request.ends_at <= request.starts_at:
        raise ModerationError("an announcement must end after it starts")
    if request.all_day and not (request.starts_at and request.ends_at):
        raise ModerationError("an all-day announcement needs a start and an end")
    urls = LocalUrls(ctx.base_url)
    async with ctx.db.transaction() as session:
        local_names = [name for name, host in mentioned_handles(text) if host in (None, ctx.domain)]
        accounts = (
            list(
                (
                    await session.execute(
                        select(Account).where(Account.domain.is_(None), Account.username.in_(local_names))
                    )
                ).scalars()
            )
            if local_names
            else []
        )
        resolved = {
            (account.username.lower(), host): account for account in accounts for host in (None, ctx.domain)
        }
        announcement = Announcement(
            text=text,
            content=text_to_html(text, mentions=mention_targets(resolved), tag_url=urls.tag_page),
            mention_ids=[account.id for account in accounts],
            tags=hashtags(text),
            starts_at=request.starts_at,
            ends_at=request.ends_at,
            all_day=request.all_day,
        )
        session.add(announcement)
        await session.flush()
        await add_audit_entry(
            session,
            actor=actor,
            action="announcement.publish",
            target=str(announcement.id),
            details={"text": text},
        )
        await _queue_event(session, "announcement", announcement.id)
    return announcement


async def withdraw_announcement(ctx: Context, announcement_id: int, *, actor: str) -> None:
    async with ctx.db.transaction() as session:
        announcement = await session.get(Announcement, announcement_id)
        if announcement is None:
            raise NothingToUndo(f"no announcement {announcement_id}")
        await session.delete(announcement)
        await add_audit_entry(
            session,
            actor=actor,
            action="announcement.withdraw",
            target=str(announcement_id),
            details={"text": announcement.text},
        )
        await _queue_event(session, "announcement.delete", announcement_id)


async def _queue_event(session: AsyncSession, kind: str, announcement_id: int) -> None:
    """The stream event goes through the job queue, in the change's transaction: the CLI that makes the
    change is another process than the servers whose streams carry it, and on SQLite (no cross-process bus)
    only a server's own worker can publish to its streams."""
    await enqueue(session, ANNOUNCEMENTS_QUEUE, {"kind": kind, "announcement_id": announcement_id})


def announcement_events_handler(ctx: Context) -> Callable[[ClaimedJob], Awaitable[None]]:
    """The `announcements` queue's handler: publish the stream event of a published or withdrawn one."""

    async def handle(job: ClaimedJob) -> None:
        ctx.bus.publish(
            Event(
                topic=ANNOUNCEMENTS_TOPIC,
                kind=job.payload["kind"],
                payload={"announcement_id": job.payload["announcement_id"]},
            )
        )

    return handle
