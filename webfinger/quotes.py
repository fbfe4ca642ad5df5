"""The quote of a received status (FEP-044f): the quoted status found or fetched, and the state of the quote
as far as this server can verify it.

A quote is `accepted` when it quotes its own author, when this server approved it (a quote of one of our
statuses: our own `quotes` row says so), or when its `quoteAuthorization` stamp, fetched from the quoted
author's origin through the federation client, names exactly this quote post, this quoted status and that
author. A stamp that names something else makes the quote `rejected`; no stamp (or one that cannot be
fetched now) leaves it `pending`.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from apub.errors import ApubError
from apub.quotes import authorization_matches
from storage.context import Context
from storage.models import Account, Quote, Status
from storage.statuses import status_by_uri
from storage.urls import LocalUrls
from webfinger.convert import RemoteNote
from webfinger.fetch import fetch_object
from webfinger.resolve import ResolveError, resolve_status

logger = logging.getLogger(__name__)


async def stored_quote_of(ctx: Context, quote_uri: str) -> Quote | None:
    """The stored quote row of the status `quote_uri`, if that status is stored and quotes something."""
    async with ctx.db.read() as session:
        return (
            await session.execute(
                select(Quote).join(Status, Status.id == Quote.status_id).where(Status.uri == quote_uri)
            )
        ).scalar_one_or_none()


async def stamp_approves(ctx: Context, stamp_uri: str, quote_uri: str, quoted: Status) -> bool:
    """Whether the remote stamp `stamp_uri` approves `quote_uri` quoting `quoted` (fetched now)."""
    async with ctx.db.read() as session:
        quoted_author = await session.get(Account, quoted.account_id)
    if quoted_author is None:
        return False
    try:
        document = await fetch_object(ctx, stamp_uri)
    except ApubError as error:
        logger.info("quote stamp %s not fetched: %s", stamp_uri, error)
        return False
    return authorization_matches(
        document, quote_uri=quote_uri, quoted_uri=quoted.uri, quoted_author_uri=quoted_author.uri
    )


async def read_quote(ctx: Context, note: RemoteNote, author: Account) -> dict[str, Any] | None:
    """The `quotes` row values (without ids) of a received status that quotes something, else None. The
    quoted status is fetched (without its own quote or parents) when it is not stored yet."""
    if note.quoted_uri is None:
        return None
    async with ctx.db.read() as session:
        quoted = await status_by_uri(session, note.quoted_uri)
    if quoted is None and not LocalUrls(ctx.base_url).is_local(note.quoted_uri):
        try:
            quoted = await resolve_status(ctx, note.quoted_uri, depth=0)
        except ResolveError as error:
            logger.info("quoted status %s not resolved: %s", note.quoted_uri, error)
    values: dict[str, Any] = {
        "quoted_uri": note.quoted_uri,
        "quoted_status_id": quoted.id if quoted else None,
        "quoted_account_id": quoted.account_id if quoted else None,
        "state": "pending",
        "approval_uri": None,
    }
    if quoted is None:
        return values
    if quoted.deleted_at is not None:
        values["state"] = "deleted"
    elif quoted.account_id == author.id:
        values["state"] = "accepted"
    elif quoted.local:  # only our own rows can say we approved it
        ours = await stored_quote_of(ctx, note.uri)
        if ours is not None and ours.quoted_status_id == quoted.id:
            values.update(state=ours.state, approval_uri=ours.approval_uri)
    elif note.quote_authorization_uri is not None:
        approved = await stamp_approves(ctx, note.quote_authorization_uri, note.uri, quoted)
        values["state"] = "accepted" if approved else "rejected"
        values["approval_uri"] = note.quote_authorization_uri if approved else None
    return values
