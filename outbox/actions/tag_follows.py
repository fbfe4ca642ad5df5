"""Following a hashtag and stopping: the account's home timeline gets the public posts carrying it from now
on. Follows are local and never federated (as Mastodon's). The client API and the web tag page both call
these."""

from __future__ import annotations

from storage.context import Context
from storage.tags import follow_tag, tag_by_name, tag_for_name, unfollow_tag


async def follow_hashtag(ctx: Context, account_id: int, name: str) -> None:
    """Follow the hashtag `name` (normalised; stored when new). Following it again changes nothing."""
    async with ctx.db.transaction() as session:
        tag = await tag_for_name(session, name)
        await follow_tag(session, account_id, tag.id)


async def unfollow_hashtag(ctx: Context, account_id: int, name: str) -> None:
    """Stop following the hashtag `name` (normalised); one not followed changes nothing."""
    async with ctx.db.transaction() as session:
        tag = await tag_by_name(session, name)
        if tag is not None:
            await unfollow_tag(session, account_id, tag.id)
