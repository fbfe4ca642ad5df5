"""Who an activity is addressed to (`to` / `cc` from visibility) and which inboxes receive it.

Delivery targets are collected as inbox URL → priority (lower runs first): mentioned and directly involved
accounts at `PRIORITY_DIRECT`, followers at `PRIORITY_FOLLOWERS`, so a reply reaches the person it answers
before the fan-out to everyone else. One job per distinct inbox: the shared inbox when the remote has one.
Local accounts never appear here: they get fan-out rows in the same transaction instead of HTTP.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from apub.hosts import delivery_inbox
from apub.vocab import PUBLIC
from storage.deliveries import delivery_job_row
from storage.follows import remote_follower_inboxes
from storage.models import Account
from storage.queue import enqueue_many
from storage.relays import take_relay_inboxes

PRIORITY_DIRECT = 0
PRIORITY_FOLLOWERS = 10
PRIORITY_RELAYS = 20  # a relay's reach is the widest and least personal: it waits for the rest


def visibility_addressing(
    visibility: str, followers_url: str | None, mention_uris: Iterable[str]
) -> tuple[list[str], list[str]]:
    """`(to, cc)` of a status of this visibility (Mastodon's mapping)."""
    mentions = list(dict.fromkeys(mention_uris))
    followers = [followers_url] if followers_url else []
    if visibility == "public":
        return [PUBLIC], [*followers, *mentions]
    if visibility == "unlisted":
        return followers, [PUBLIC, *mentions]
    if visibility == "private":
        return followers, mentions
    return mentions, []


def preferred_inbox(account: Account, *, personal: bool = False) -> str | None:
    """The inbox a delivery to this remote account goes to: shared if it has one on the account's own origin
    (unless `personal`), else its personal inbox there, else none (`apub.hosts.delivery_inbox`; rows stored
    before that rule are held to it here)."""
    return delivery_inbox(account.uri, account.inbox_url, account.shared_inbox_url, personal=personal)


class DeliveryTargets:
    """Inbox URL → priority, the lowest priority winning when an inbox is added twice."""

    def __init__(self) -> None:
        self.inboxes: dict[str, int] = {}

    def add(self, inbox: str | None, priority: int) -> None:
        if inbox:
            self.inboxes[inbox] = min(priority, self.inboxes.get(inbox, priority))

    def add_account(
        self, account: Account | None, *, priority: int = PRIORITY_DIRECT, personal: bool = False
    ) -> None:
        """Add a remote account's inbox (personal inbox for one-to-one activities such as Follow)."""
        if account is None or account.domain is None or account.gone_at is not None:
            return
        self.add(preferred_inbox(account, personal=personal), priority)

    async def add_followers_of(self, session: AsyncSession, account_id: int) -> None:
        for inbox in await remote_follower_inboxes(session, account_id):
            self.add(inbox, PRIORITY_FOLLOWERS)

    async def add_relays(self, session: AsyncSession) -> None:
        """Add the inboxes of the accepted relays (for an activity `storage.relays.relayable` allows)."""
        for inbox in await take_relay_inboxes(session):
            self.add(inbox, PRIORITY_RELAYS)

    def __len__(self) -> int:
        return len(self.inboxes)


async def enqueue_deliveries(
    session: AsyncSession, *, activity_id: int, sender_id: int, targets: DeliveryTargets
) -> int:
    """One `deliver` job per target inbox, in the caller's transaction; returns how many were enqueued.

    The payload is `{"activity_id", "inbox", "sender_id"}`; the body is rendered and signed at send time.
    """
    rows = [
        delivery_job_row(activity_id=activity_id, sender_id=sender_id, inbox=inbox, priority=priority)
        for inbox, priority in targets.inboxes.items()
    ]
    return await enqueue_many(session, rows)
