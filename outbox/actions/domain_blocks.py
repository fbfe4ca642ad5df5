"""A user's own block of a whole domain: local rows (never federated) plus a federated `Reject` to each of
that domain's followers and follow requesters of the user, as Mastodon does."""

from __future__ import annotations

from outbox.actions.follows import reject_follow_request, remove_from_followers
from storage import account_domain_blocks
from storage.context import Context
from storage.models import Account


async def block_domain(ctx: Context, account: Account, domain: str) -> None:
    """Block `domain` (a canonical host) for `account`; blocking it again changes nothing more."""
    async with ctx.db.transaction() as session:
        followers, requesters = await account_domain_blocks.block_domain(session, account.id, domain)
    for follower in followers:
        await remove_from_followers(ctx, account, follower)
    for requester in requesters:
        await reject_follow_request(ctx, account, requester)
