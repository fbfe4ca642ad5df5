"""Quote approval (FEP-044f) as received: a `QuoteRequest` for one of our statuses, the `Accept` or
`Reject` of one of ours, and the `Delete` of a stamp (a revoked quote).

A `QuoteRequest` is answered at once by the quoted status's policy (`storage.quotes.quote_decision`):
`Accept` with our stamp as its `result`, or `Reject`. The quote post (the request's `instrument`, embedded
or fetched, and on the requester's origin) is stored with its quote row first, so the stamp has something
to name and the author's `quote` notification a status to show.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from apub.errors import ApubError
from apub.hosts import same_origin
from inbox.errors import Rejected
from inbox.handlers.common import queue_reply
from storage.bus import Event
from storage.context import Context
from storage.models import Account, Quote, Status
from storage.preview_cards import local_host
from storage.quotes import (
    notify_quoted,
    quote_by_approval,
    quote_by_request,
    quote_decision,
    schedule_republish,
    set_state,
)
from storage.statuses import status_by_uri
from storage.stream_events import reach_events
from storage.urls import LocalUrls
from webfinger.convert import id_of
from webfinger.fetch import fetch_object
from webfinger.quotes import stamp_approves
from webfinger.resolve import ResolveError, insert_note, prepare_note

logger = logging.getLogger(__name__)


async def _instrument(ctx: Context, activity: dict[str, Any], actor: Account) -> dict[str, Any]:
    instrument = activity.get("instrument")
    if isinstance(instrument, str):
        try:
            instrument = await fetch_object(ctx, instrument)
        except ApubError as error:
            raise Rejected(f"quote post {instrument} could not be fetched: {error}") from error
    if not isinstance(instrument, dict) or not same_origin(id_of(instrument), actor.uri):
        raise Rejected("QuoteRequest without a quote post of the requester's")
    return instrument


async def handle_quote_request(ctx: Context, activity: dict[str, Any], actor: Account) -> list[Event]:
    """Approve or refuse a quote of one of our statuses, by its policy."""
    quoted_uri = id_of(activity.get("object"))
    if quoted_uri is None or not LocalUrls(ctx.base_url).is_local(quoted_uri):
        raise Rejected("QuoteRequest for no status of ours")
    document = await _instrument(ctx, activity, actor)
    try:
        prepared = await prepare_note(ctx, document, actor, depth=0)
    except ResolveError as error:
        raise Rejected(str(error)) from error
    if prepared.note.quoted_uri != quoted_uri:
        raise Rejected("the quote post of a QuoteRequest quotes another status")
    request_echo = {
        "id": activity.get("id"),
        "type": "QuoteRequest",
        "actor": actor.uri,
        "object": quoted_uri,
        "instrument": prepared.note.uri,
    }
    events: list[Event] = []
    async with ctx.db.transaction() as session:
        quoted = await status_by_uri(session, quoted_uri)
        author = await session.get(Account, quoted.account_id) if quoted is not None else None
        if quoted is None or author is None or quoted.deleted_at is not None or not quoted.local:
            raise Rejected("QuoteRequest for a status we do not have")
        quoting = await status_by_uri(session, prepared.note.uri)
        if quoting is None:
            prepared.quote = {
                "quoted_uri": quoted.uri,
                "quoted_status_id": quoted.id,
                "quoted_account_id": author.id,
                "state": "pending",
            }
            quoting = await insert_note(session, prepared, local_host=local_host(ctx))
        if quoting is None or quoting.account_id != actor.id:
            raise Rejected("the quote post is not the requester's")
        quote = await _quote_row(session, quoting, quoted, author, actor)
        quote.request_uri = activity.get("id") if isinstance(activity.get("id"), str) else None
        if await quote_decision(session, quoted, actor.id) == "automatic":
            stamp = LocalUrls(ctx.base_url).quote_authorization(author.username, quote.id)
            set_state(quote, "accepted", approval_uri=stamp)
            await session.flush()
            await queue_reply(
                session,
                ctx,
                sender=author,
                recipient=actor,
                activity_type="Accept",
                activity_object=request_echo,
                result=stamp,
            )
            events += await notify_quoted(session, [quoting.id])
        else:
            set_state(quote, "rejected")
            await queue_reply(
                session,
                ctx,
                sender=author,
                recipient=actor,
                activity_type="Reject",
                activity_object=request_echo,
            )
        await session.flush()
        events += await reach_events(session, quoting, "status.update")
    return events


async def _quote_row(session: Any, quoting: Status, quoted: Status, author: Account, actor: Account) -> Quote:
    quote = (await session.execute(select(Quote).where(Quote.status_id == quoting.id))).scalar_one_or_none()
    if quote is None:
        quote = Quote(status_id=quoting.id, account_id=actor.id, quoted_uri=quoted.uri, state="pending")
        session.add(quote)
    quote.quoted_status_id, quote.quoted_account_id, quote.quoted_uri = quoted.id, author.id, quoted.uri
    await session.flush()
    return quote


async def accept_quote_request(ctx: Context, activity: dict[str, Any], actor: Account) -> list[Event] | None:
    """The quoted author's server approved our quote: the stamp (`result`) is checked and kept, and the
    quote post goes out again carrying it. None when the Accept is not about a quote request of ours."""
    request_id = id_of(activity.get("object"))
    if request_id is None:
        return None
    async with ctx.db.read() as session:
        quote = await quote_by_request(session, request_id)
        quoting = await session.get(Status, quote.status_id) if quote is not None else None
        quoted = (
            await session.get(Status, quote.quoted_status_id) if quote and quote.quoted_status_id else None
        )
    if quote is None or quoting is None or not quoting.local:
        return None
    if quoted is None or quoted.account_id != actor.id:
        raise Rejected("Accept of a quote request by someone else than the quoted author")
    stamp = id_of(activity.get("result"))
    if stamp is None or not await stamp_approves(ctx, stamp, quoting.uri, quoted):
        raise Rejected("Accept of a quote request without a stamp that approves it")
    async with ctx.db.transaction() as session:
        row = await session.get(Quote, quote.id)
        status = await session.get(Status, quoting.id)
        if row is None or status is None:
            return []
        set_state(row, "accepted", approval_uri=stamp)
        await schedule_republish(session, status.id)
        return await reach_events(session, status, "status.update")


async def reject_quote_request(ctx: Context, activity: dict[str, Any], actor: Account) -> list[Event] | None:
    """The quoted author's server refused our quote (or withdrew it). None when not about one of ours."""
    request_id = id_of(activity.get("object"))
    if request_id is None:
        return None
    async with ctx.db.transaction() as session:
        quote = await quote_by_request(session, request_id)
        if quote is None:
            return None
        if quote.quoted_account_id != actor.id:
            raise Rejected("Reject of a quote request by someone else than the quoted author")
        set_state(quote, "rejected")
        status = await session.get(Status, quote.status_id)
        return await reach_events(session, status, "status.update") if status is not None else []


async def revoke_stamp(ctx: Context, stamp_uri: str, actor: Account) -> list[Event] | None:
    """`Delete` of a stamp by its author: every quote it approved is revoked. None when it is no stamp."""
    async with ctx.db.transaction() as session:
        quote = await quote_by_approval(session, stamp_uri)
        if quote is None:
            return None
        if quote.quoted_account_id != actor.id or not same_origin(stamp_uri, actor.uri):
            raise Rejected("Delete of a stamp by someone else than its author")
        set_state(quote, "revoked")
        status = await session.get(Status, quote.status_id)
        return await reach_events(session, status, "status.update") if status is not None else []
