"""Quoting a status while posting (FEP-044f): the quote row, decided at once for a status of ours (no
network: the same policy as for a remote request, `storage.quotes.quote_decision`), or pending with a
`QuoteRequest` to the quoted author's server for a remote one. Runs in `post_status`'s transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from apub.quotes import quote_request
from outbox.actions._unit import Effects, record_activity, urls_of
from outbox.addressing import PRIORITY_DIRECT, DeliveryTargets
from outbox.errors import NotFound, Unprocessable, ValidationCode
from storage.context import Context
from storage.ids import new_id
from storage.models import Account, Quote, Status
from storage.quotes import QUOTE_POLICIES, notify_quoted, quote_decision
from storage.statuses import can_see, status_by_id


def check_quote_policy(policy: str | None) -> None:
    """A `quote_approval_policy` parameter must be one Mastodon knows."""
    if policy is not None and policy not in QUOTE_POLICIES:
        raise Unprocessable(
            f"Validation failed: unknown quote approval policy {policy!r}",
            field="quote_approval_policy",
            code=ValidationCode.INCLUSION,
        )


async def quotable_status(session: AsyncSession, author: Account, quoted_status_id: int) -> Status:
    """The status `author` may quote: one they can see (else NotFound) whose policy lets them (else 422)."""
    quoted = await status_by_id(session, quoted_status_id)
    if (
        quoted is None
        or quoted.reblog_of_id is not None
        or quoted.deleted_at is not None
        or not await can_see(session, author.id, quoted)
    ):
        raise NotFound("Record not found: the quoted status")
    if await quote_decision(session, quoted, author.id) != "automatic":
        raise Unprocessable("Validation failed: the quoted status cannot be quoted", field="quoted_status_id")
    return quoted


async def add_quote(
    session: AsyncSession, ctx: Context, effects: Effects, status: Status, author: Account, quoted: Status
) -> tuple[Quote, Account]:
    """The quote row of a new local status; a status of ours is approved now (with our stamp when it is
    someone else's), a remote one waits for its author's server. Returns the row and the quoted author."""
    quoted_author = await session.get(Account, quoted.account_id)
    assert quoted_author is not None
    quote = Quote(
        id=new_id(),
        status_id=status.id,
        account_id=author.id,
        quoted_status_id=quoted.id,
        quoted_uri=quoted.uri,
        quoted_account_id=quoted_author.id,
        state="pending",
    )
    if quoted_author.domain is None:
        quote.state = "accepted"
        if quoted_author.id != author.id:
            quote.approval_uri = urls_of(ctx).quote_authorization(quoted_author.username, quote.id)
    session.add(quote)
    await session.flush()
    if quote.state == "accepted":
        effects.events += await notify_quoted(session, [status.id])
    return quote, quoted_author


async def request_approval(
    session: AsyncSession,
    ctx: Context,
    effects: Effects,
    *,
    quote: Quote,
    author: Account,
    quoted_author: Account,
    note: dict[str, Any],
) -> None:
    """Send `QuoteRequest` for a pending quote to the quoted author, the quote post embedded."""
    targets = DeliveryTargets()
    targets.add_account(quoted_author, priority=PRIORITY_DIRECT)
    instrument = {key: value for key, value in note.items() if key != "@context"}
    activity = await record_activity(
        session,
        effects,
        ctx=ctx,
        actor=author,
        activity_type="QuoteRequest",
        build=lambda uri: quote_request(uri, author.uri, quote.quoted_uri, instrument, quoted_author.uri),
        targets=targets,
        status_id=quote.status_id,
        visibility="direct",
    )
    quote.request_uri = activity.uri
