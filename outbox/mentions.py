"""Resolve the `@user` / `@user@host` handles of a local post into accounts (before its transaction, since
an unknown remote handle costs a WebFinger lookup)."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from outbox.content import MentionTarget, mentioned_handles
from storage.accounts import account_by_acct
from storage.context import Context
from storage.models import Account
from storage.urls import LocalUrls
from webfinger.resolve import resolve_acct

logger = logging.getLogger(__name__)

MAX_MENTIONS = 50


async def _resolve_remote(ctx: Context, username: str, host: str) -> Account | None:
    # WebFinger over our own scheme: https in production, http for instances on a test loopback.
    scheme = urlsplit(ctx.base_url).scheme
    try:
        return await resolve_acct(ctx, f"{username}@{host}", scheme=scheme)
    except Exception as error:  # an unreachable or broken remote leaves the mention as plain text
        logger.info("could not resolve @%s@%s: %s", username, host, error)
        return None


async def resolve_mentions(ctx: Context, text: str) -> dict[tuple[str, str | None], Account]:
    """Handle → account for every mention in `text` that names a known or discoverable account."""
    resolved: dict[tuple[str, str | None], Account] = {}
    for username, host in mentioned_handles(text)[:MAX_MENTIONS]:
        local = host is None or LocalUrls(ctx.base_url).is_local_host(host)
        async with ctx.db.read() as session:
            account = await account_by_acct(session, username, None if local else host)
        if account is None and not local:
            assert host is not None
            account = await _resolve_remote(ctx, username, host)
        if account is not None and account.suspended_at is None:
            resolved[(username, host)] = account
    return resolved


def mention_targets(
    resolved: dict[tuple[str, str | None], Account],
) -> dict[tuple[str, str | None], MentionTarget]:
    """The links the content renderer puts on each resolved mention."""
    return {
        handle: MentionTarget(href=account.url or account.uri, username=account.username)
        for handle, account in resolved.items()
    }
