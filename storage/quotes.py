"""Quote posts (FEP-044f): the `quotes` rows, who may quote a status, and the quotes of a page of statuses.

`quote_decision` is the one answer to "may this account quote that status": the outbox asks it before
quoting a local status, the inbox before approving a `QuoteRequest`, the client API for `quote_approval`.
Plein approves automatically or not at all (there is no manual review yet, as in Mastodon 4.5).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from storage.account_domain_blocks import blocks_domain_of_account
from storage.bus import Event
from storage.follows import block_of
from storage.models import Account, Follow, Quote, Status
from storage.notify import notify
from storage.queue import enqueue
from storage.types import utcnow

QUOTE_POLICIES = ("public", "followers", "nobody")
# States in which the quoted status is shown (the others show a placeholder).
SHOWN_STATES = frozenset({"accepted"})


def effective_policy(status: Any) -> str:
    """Who may quote `status` really: a private or direct status only its author (as in Mastodon), a remote
    status without a policy nobody."""
    if status.visibility in ("private", "direct"):
        return "nobody"
    return status.quote_policy or "nobody"


def decide_quote(status: Any, quoter_id: int | None, *, follows_author: bool, blocked: bool = False) -> str:
    """The one rule: `automatic` when `quoter_id` may quote `status` (its author always may; someone the
    author blocks, or whose domain the author blocks, never; then the status's policy decides, `followers`
    meaning those who follow the author), else `denied`; `unknown` for an anonymous viewer of a status
    that not everyone may quote."""
    if quoter_id is not None and quoter_id == status.account_id:
        return "automatic"
    if blocked:
        return "denied"
    policy = effective_policy(status)
    if policy == "public":
        return "automatic"
    if quoter_id is None:
        return "unknown"
    return "automatic" if policy == "followers" and follows_author else "denied"


async def quote_decision(session: AsyncSession, status: Any, quoter_id: int | None) -> str:
    """`decide_quote` with the follow and the author's blocks looked up."""
    if quoter_id is None or quoter_id == status.account_id:
        return decide_quote(status, quoter_id, follows_author=False)
    blocked = await block_of(session, status.account_id, quoter_id) is not None or (
        await blocks_domain_of_account(session, status.account_id, quoter_id)
    )
    follows = False
    if effective_policy(status) == "followers":
        follows = bool(
            await session.scalar(
                select(
                    exists().where(
                        Follow.account_id == quoter_id, Follow.target_account_id == status.account_id
                    )
                )
            )
        )
    return decide_quote(status, quoter_id, follows_author=follows, blocked=blocked)


def approval_lists(status: Any) -> list[str]:
    """Mastodon's `QuoteApproval.automatic`: who is expected to be approved automatically."""
    policy = effective_policy(status)
    return [policy] if policy in ("public", "followers") else []


async def quote_of(session: AsyncSession, status_id: int) -> Quote | None:
    """The quote row of the quoting status `status_id`, or None when it quotes nothing."""
    return (await session.execute(select(Quote).where(Quote.status_id == status_id))).scalar_one_or_none()


async def quotes_of_statuses(
    session: AsyncSession | AsyncConnection, status_ids: Iterable[int]
) -> dict[int, Any]:
    """The quote rows of these quoting statuses, by quoting status id (one query)."""
    ids = list(status_ids)
    if not ids:
        return {}
    rows = await session.execute(select(*Quote.__table__.columns).where(Quote.status_id.in_(ids)))
    return {row.status_id: row for row in rows.all()}


async def quotes_counts(session: AsyncSession | AsyncConnection, status_ids: Iterable[int]) -> dict[int, int]:
    """How many accepted quotes each status has (one query)."""
    ids = list(status_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(Quote.quoted_status_id, func.count())
        .join(Status, Status.id == Quote.status_id)
        .where(Quote.quoted_status_id.in_(ids), Quote.state == "accepted", Status.deleted_at.is_(None))
        .group_by(Quote.quoted_status_id)
    )
    return {quoted_id: count for quoted_id, count in rows.all()}


def set_state(quote: Quote, state: str, *, approval_uri: str | None = None) -> None:
    """Move a quote to `state` (keeping its stamp unless a new one is given)."""
    quote.state = state
    if approval_uri is not None:
        quote.approval_uri = approval_uri
    quote.updated_at = utcnow()


async def quote_by_approval(session: AsyncSession, approval_uri: str) -> Quote | None:
    """The quote a stamp approved."""
    return (
        await session.execute(select(Quote).where(Quote.approval_uri == approval_uri).limit(1))
    ).scalar_one_or_none()


async def quote_by_request(session: AsyncSession, request_uri: str) -> Quote | None:
    """The quote a `QuoteRequest` asked about."""
    return (
        await session.execute(select(Quote).where(Quote.request_uri == request_uri).limit(1))
    ).scalar_one_or_none()


async def quoting_statuses_of(session: AsyncSession, quoted_status_id: int) -> list[Status]:
    """The stored statuses that quote `quoted_status_id`, whatever their state."""
    rows = await session.execute(
        select(Status)
        .join(Quote, Quote.status_id == Status.id)
        .where(Quote.quoted_status_id == quoted_status_id, Status.deleted_at.is_(None))
    )
    return list(rows.scalars())


async def notify_quoted(session: AsyncSession, quoting_status_ids: Iterable[int]) -> list[Event]:
    """`quote` notifications for the local authors whose statuses these accepted quotes quote."""
    ids = list(quoting_status_ids)
    if not ids:
        return []
    rows = await session.execute(
        select(Quote.quoted_account_id, Quote.account_id, Quote.status_id).where(
            Quote.status_id.in_(ids), Quote.state == "accepted", Quote.quoted_account_id.is_not(None)
        )
    )
    events = []
    for recipient_id, quoter_id, status_id in rows.all():
        event = await notify(session, recipient_id, quoter_id, "quote", status_id=status_id)
        if event is not None:
            events.append(event)
    return events


async def notify_quoters_of_edit(session: AsyncSession, quoted_status_id: int) -> list[Event]:
    """`quoted_update` notifications (about the edited status, as `update` is) for the local authors of
    accepted quotes of it."""
    rows = await session.execute(
        select(Quote.account_id)
        .join(Account, Account.id == Quote.account_id)
        .where(
            Quote.quoted_status_id == quoted_status_id,
            Quote.state == "accepted",
            Account.domain.is_(None),
        )
    )
    quoted = await session.get(Status, quoted_status_id)
    events: list[Event] = []
    for (quoter_id,) in rows.all() if quoted is not None else ():
        event = await notify(session, quoter_id, quoted.account_id, "quoted_update", status_id=quoted.id)
        if event is not None:
            events.append(event)
    return events


async def update_received_quote(
    session: AsyncSession, status: Status, values: dict[str, Any] | None
) -> list[Event]:
    """Bring the quote row of an edited remote status in line with its new quote (`webfinger.quotes`
    values, None: it quotes nothing now); a quote that becomes accepted notifies the quoted local author."""
    quote = await quote_of(session, status.id)
    if values is None:
        if quote is not None:
            await session.delete(quote)
        return []
    was_accepted = quote is not None and quote.state == "accepted"
    if quote is None:
        quote = Quote(status_id=status.id, account_id=status.account_id, **values)
        session.add(quote)
    else:
        for name, value in values.items():
            setattr(quote, name, value)
        quote.updated_at = utcnow()
    await session.flush()
    if quote.state == "accepted" and not was_accepted:
        return await notify_quoted(session, [status.id])
    return []


QUOTES_QUEUE = "quotes"


async def schedule_republish(session: AsyncSession, status_id: int) -> None:
    """Have the outbox send an `Update` of our quote post once its stamp arrived (`quotes` queue job)."""
    await enqueue(session, QUOTES_QUEUE, {"kind": "republish", "status_id": status_id})
