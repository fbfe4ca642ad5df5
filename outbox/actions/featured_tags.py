"""Feature and unfeature a hashtag on one's profile: the `featuredTags` collection, announced to followers
with `Add` / `Remove` of the `Hashtag` targeting the `featured` collection, as Mastodon does
(`CreateFeaturedTagService`, `RemoveFeaturedTagService`); Mastodon servers also re-read `featuredTags`
whenever they refresh the actor."""

from __future__ import annotations

from typing import Any

from outbox.actions._unit import Effects, after_commit, urls_of
from outbox.actions.pins import announce_featured
from outbox.errors import Unprocessable
from storage.context import Context
from storage.featured_tags import (
    MAX_FEATURED_TAGS,
    count_featured_tags,
    featured_tag_by_id,
    featured_tag_of,
    remove_featured_tag,
)
from storage.models import Account, FeaturedTag, Tag
from storage.tags import tag_for_name


def hashtag_object(ctx: Context, name: str, display_name: str) -> dict[str, Any]:
    """The AS2 `Hashtag` of a featured hashtag in `Add` / `Remove` (its `href` is the hashtag's page)."""
    return {"type": "Hashtag", "href": urls_of(ctx).tag_page(name), "name": f"#{display_name}"}


async def feature_tag(ctx: Context, account: Account, name: str, display_name: str) -> FeaturedTag:
    """Feature the hashtag `name` (normalised) on the account's profile, shown as `display_name`; featuring
    it again answers the existing one and sends nothing. At most `MAX_FEATURED_TAGS`."""
    effects = Effects()
    async with ctx.db.transaction() as session:
        tag = await tag_for_name(session, name)
        featured = await featured_tag_of(session, account.id, tag.id)
        if featured is None:
            if await count_featured_tags(session, account.id) >= MAX_FEATURED_TAGS:
                raise Unprocessable(
                    f"Validation failed: You can feature at most {MAX_FEATURED_TAGS} hashtags"
                )
            featured = FeaturedTag(account_id=account.id, tag_id=tag.id, display_name=display_name)
            session.add(featured)
            await session.flush()
            announced = hashtag_object(ctx, name, display_name)
            await announce_featured(session, effects, ctx, account, announced, "Add")
    after_commit(ctx, effects)
    return featured


async def unfeature_tag(
    ctx: Context, account: Account, *, featured_id: int | None = None, tag_id: int | None = None
) -> bool:
    """Stop featuring one of the account's hashtags, named by the featuring's id or the hashtag's; False
    (nothing sent) when the account does not feature it."""
    effects = Effects()
    async with ctx.db.transaction() as session:
        if featured_id is not None:
            featured = await featured_tag_by_id(session, account.id, featured_id)
        else:
            featured = await featured_tag_of(session, account.id, tag_id) if tag_id is not None else None
        if featured is None:
            return False
        tag = await session.get(Tag, featured.tag_id)
        assert tag is not None  # a featuring goes with its hashtag (ON DELETE CASCADE)
        await remove_featured_tag(session, featured)
        announced = hashtag_object(ctx, tag.name, featured.display_name)
        await announce_featured(session, effects, ctx, account, announced, "Remove")
    after_commit(ctx, effects)
    return True
