"""The Tag entity (with its week of use, and whether the caller follows or features it) and the FeaturedTag
entity."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from clientapi.entities.common import format_date
from storage.context import Context
from storage.featured_tags import FeaturedTagView
from storage.models import Account, Tag
from storage.tags import TagUse, tag_histories, tag_relations
from storage.urls import LocalUrls


def history_to_entity(uses: list[TagUse]) -> list[dict[str, str]]:
    """A week of use (of a hashtag or a trending link) as Mastodon's `history`: counts as strings."""
    return [
        {"day": str(int(use.day.timestamp())), "uses": str(use.uses), "accounts": str(use.accounts)}
        for use in uses
    ]


async def tags_to_entities(
    session: AsyncSession, ctx: Context, tags: Sequence[Tag], viewer_id: int | None
) -> list[dict[str, Any]]:
    """Tag entities for `tags`, in their order, in three statements whatever their number. `following` and
    `featuring` are given to a caller acting for an account, left out otherwise (as Mastodon does). A tag
    not stored yet (`id` None) has id "" and no use, as Mastodon renders an unsaved tag."""
    urls = LocalUrls(ctx.base_url)
    stored = [tag.id for tag in tags if tag.id is not None]
    histories = await tag_histories(session, stored)
    following, featuring = await tag_relations(session, viewer_id, stored) if viewer_id else (set(), set())
    entities = []
    for tag in tags:
        entity: dict[str, Any] = {
            "id": str(tag.id) if tag.id is not None else "",
            "name": tag.name,
            "url": urls.tag_page(tag.name),
            "history": history_to_entity(histories.get(tag.id, [])) if tag.id is not None else [],
        }
        if viewer_id is not None:
            entity["following"] = tag.id in following
            entity["featuring"] = tag.id in featuring
        entities.append(entity)
    return entities


def featured_tag_to_entity(ctx: Context, owner: Account, featured: FeaturedTagView) -> dict[str, Any]:
    """The FeaturedTag entity: counts as strings and the last use as a date, as Mastodon serialises them."""
    return {
        "id": str(featured.id),
        "name": featured.display_name,
        "url": LocalUrls(ctx.base_url).account_tag_page(owner.username, featured.name),
        "statuses_count": str(featured.statuses_count),
        "last_status_at": format_date(featured.last_status_at),
    }
