"""The inboxes of every remote server this one knows, a page at a time: the audience of a local account's
`Delete` of itself, which any server may need (it may hold the account's posts through boosts and replies,
not only through follows). Read by the `fan_out` job (`outbox.fan_out`) after the deletion's commit, never
in it: an instance knowing a hundred thousand remote accounts would otherwise write that many rows at once.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from apub.hosts import delivery_inbox
from storage.models import Account


async def known_inbox_page(session: AsyncSession, *, after: int, limit: int) -> tuple[list[str], int | None]:
    """One page of the inboxes of known remote accounts (not gone), in account id order after the account id
    `after`: the shared inbox where the origin rule allows it (`apub.hosts.delivery_inbox`), else the personal
    one; distinct within the page (a shared inbox recurs on later pages, and the delivery's dedupe key
    queues it once). Returns the inboxes and the last account id read, None when all are read."""
    statement = (
        select(Account.id, Account.uri, Account.inbox_url, Account.shared_inbox_url)
        .where(Account.domain.is_not(None), Account.gone_at.is_(None), Account.id > after)
        .order_by(Account.id)
        .limit(limit)
    )
    rows = (await session.execute(statement)).all()
    if not rows:
        return [], None
    inboxes = (delivery_inbox(uri, inbox, shared_inbox) for _, uri, inbox, shared_inbox in rows)
    return list(dict.fromkeys(inbox for inbox in inboxes if inbox)), int(rows[-1][0])


async def count_known_servers(session: AsyncSession) -> int:
    """How many remote servers (domains) with an account not gone this one knows."""
    statement = select(func.count(func.distinct(Account.domain))).where(
        Account.domain.is_not(None), Account.gone_at.is_(None)
    )
    return int((await session.execute(statement)).scalar_one())
