"""A remote actor's pinned posts: its `featured` collection, read when the actor is stored or refreshed (a
job of the `profile` queue, `storage.profile_jobs.enqueue_featured_fetch`), and kept up to date by the
`Add` / `Remove` activities its server sends (`inbox.handlers.featured`).

Only the actor's own statuses, on its own origin, can be pinned: a collection elsewhere, or an item of
another author or origin, is skipped. Fetches go through the federation client (SSRF guard, size and time
limits), signed by the instance actor.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from apub.errors import ApubError
from apub.hosts import same_origin
from storage.context import Context
from storage.db import dialect_insert
from storage.ids import new_id
from storage.models import Account, Status, StatusPin
from webfinger.convert import as_list, id_of
from webfinger.fetch import fetch_object
from webfinger.resolve import ResolveError, domain_policy, resolve_status

logger = logging.getLogger(__name__)

MAX_FEATURED = 20  # more than any server lets an account pin (Mastodon: 5)


async def _items(ctx: Context, collection: dict[str, Any], owner: Account) -> list[Any]:
    """The items of a collection, or of its first page (embedded, or fetched from the owner's origin)."""
    items = collection.get("orderedItems", collection.get("items"))
    if items is not None:
        return as_list(items)
    first = collection.get("first")
    if isinstance(first, str) and same_origin(first, owner.uri):
        first = await fetch_object(ctx, first)
    if isinstance(first, dict):
        return as_list(first.get("orderedItems", first.get("items")))
    return []


async def pinnable_status(ctx: Context, reference: Any, owner: Account) -> Status | None:
    """The stored status (fetched first if unknown) that `reference` names, when it is `owner`'s own."""
    uri = id_of(reference)
    if uri is None or not same_origin(uri, owner.uri):
        return None
    try:
        status = await resolve_status(ctx, uri)
    except ResolveError as error:
        logger.info("featured item %s of %s skipped: %s", uri, owner.uri, error)
        return None
    if status.account_id != owner.id or status.reblog_of_id is not None or status.deleted_at is not None:
        return None
    return status


async def pin_remote(session: AsyncSession, account_id: int, status_id: int) -> None:
    """Pin a remote account's status (already pinned: nothing)."""
    insert = dialect_insert(session.bind.dialect.name)
    await session.execute(
        insert(StatusPin)
        .values(id=new_id(), account_id=account_id, status_id=status_id)
        .on_conflict_do_nothing()
    )


async def fetch_featured(ctx: Context, account_id: int) -> None:
    """Read the account's `featured` collection and make its pins exactly the statuses listed there."""
    async with ctx.db.read() as session:
        account = await session.get(Account, account_id)
        if account is None or account.domain is None or account.gone_at is not None:
            return
        policy = await domain_policy(ctx, session, account.domain)
    url = account.featured_url
    if not url or not same_origin(url, account.uri) or policy.suspended or not policy.allowed:
        return
    try:
        collection = await fetch_object(ctx, url)
        items = await _items(ctx, collection, account)
    except ApubError as error:
        logger.info("featured collection of %s not read: %s", account.uri, error)
        return
    statuses = [
        status
        for item in items[:MAX_FEATURED]
        if (status := await pinnable_status(ctx, item, account)) is not None
    ]
    async with ctx.db.transaction() as session:
        pinned = set(
            (await session.execute(select(StatusPin.status_id).where(StatusPin.account_id == account_id)))
            .scalars()
            .all()
        )
        wanted = [status.id for status in statuses]
        await session.execute(
            delete(StatusPin).where(
                StatusPin.account_id == account_id, StatusPin.status_id.not_in(wanted or [0])
            )
        )
        # The collection lists the newest pin first; pins are paged newest (highest id) first.
        for status_id in reversed(wanted):
            if status_id not in pinned:
                await pin_remote(session, account_id, status_id)
