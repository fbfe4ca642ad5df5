"""Moderators' review of trends: which hashtags and links may trend (none until allowed), which statuses may
not."""

from __future__ import annotations

from moderation.errors import ModerationError, NothingToUndo
from storage.audit import add_audit_entry
from storage.context import Context
from storage.models import Status
from storage.preview_cards import card_by_url
from storage.tags import tag_for_name, tag_name_from_input


async def review_tag(ctx: Context, name: str, *, allow: bool, actor: str) -> str:
    """Allow a hashtag to trend, or keep it out; returns its stored name."""
    tag_name = tag_name_from_input(name)
    if tag_name is None:
        raise ModerationError(f"{name!r} is not a hashtag")
    async with ctx.db.transaction() as session:
        tag = await tag_for_name(session, tag_name)
        tag.trendable = allow
        await add_audit_entry(
            session,
            actor=actor,
            action="trends.allow_tag" if allow else "trends.reject_tag",
            target=tag_name,
            details={},
        )
    return tag_name


async def review_status(ctx: Context, status_id: int, *, allow: bool, actor: str) -> None:
    """Keep a status out of the trends (or let it back in)."""
    async with ctx.db.transaction() as session:
        status = await session.get(Status, status_id)
        if status is None or status.deleted_at is not None:
            raise NothingToUndo(f"no status {status_id}")
        status.trendable = None if allow else False
        await add_audit_entry(
            session,
            actor=actor,
            action="trends.allow_status" if allow else "trends.reject_status",
            target=status.uri,
            details={},
        )


async def review_link(ctx: Context, url: str, *, allow: bool, actor: str) -> None:
    """Allow a link (its preview card) to trend, or keep it out; NothingToUndo when no card has that URL."""
    async with ctx.db.transaction() as session:
        card = await card_by_url(session, url.strip())
        if card is None:
            raise NothingToUndo(f"no preview card for {url}")
        card.trendable = allow
        await add_audit_entry(
            session,
            actor=actor,
            action="trends.allow_link" if allow else "trends.reject_link",
            target=card.url,
            details={},
        )
