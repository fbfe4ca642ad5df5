"""Who an activity is addressed to (`to` / `cc` from visibility) and which inboxes receive it.

Delivery targets are collected as inbox URL → priority (lower runs first): mentioned and directly involved
accounts at `PRIORITY_DIRECT`, followers at `PRIORITY_FOLLOWERS`, so a reply reaches the person it answers
before the fan-out to everyone else. One job per distinct inbox: the shared inbox when the remote has one.
Local accounts never appear here: they get fan-out rows in the same transaction instead of HTTP.

The followers are not read in the action's transaction: it writes one `fan_out` job for them instead
(`storage.deliveries.fan_out_job_row`), which `outbox.fan_out` expands into their delivery jobs after the
commit. An account followed from thousands of servers thus posts in one small transaction; the few
targets named here (mentions, the account replied to, relays) are queued at once.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from apub.hosts import delivery_inbox
from apub.vocab import PUBLIC
from storage.deliveries import delivery_job_row, fan_out_job_row, known_servers_job_row
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
    """Inbox URL → priority, the lowest priority winning when an inbox is added twice; and the local
    accounts whose followers the activity goes to as well (each expanded later by a `fan_out` job)."""

    def __init__(self) -> None:
        self.inboxes: dict[str, int] = {}
        self.followers_of: list[int] = []
        self.known_servers = False

    def add_known_servers(self) -> None:
        """Add every known remote server's inbox: one `fan_out` job (`storage.known_inboxes`), not a row each."""
        self.known_servers = True

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

    def add_followers_of(self, account_id: int) -> None:
        """Add the inboxes of a local account's remote followers: one `fan_out` job, not a row each."""
        if account_id not in self.followers_of:
            self.followers_of.append(account_id)

    async def add_relays(self, session: AsyncSession) -> None:
        """Add the inboxes of the accepted relays (for an activity `storage.relays.relayable` allows)."""
        for inbox in await take_relay_inboxes(session):
            self.add(inbox, PRIORITY_RELAYS)

    def __len__(self) -> int:
        """How many inboxes are named (the followers are counted when their job expands them)."""
        return len(self.inboxes)


async def enqueue_deliveries(
    session: AsyncSession, *, activity_id: int, sender_id: int, targets: DeliveryTargets
) -> tuple[int, int]:
    """One `deliver` job per named target inbox and one `fan_out` job per account whose followers are
    targets (and one for every known server, if they are), in the caller's transaction; returns how many of
    each were enqueued.

    A delivery's payload is `{"activity_id", "inbox", "sender_id"}`; the body is rendered and signed at send
    time. An inbox named here and reached by the followers' expansion too keeps the delivery queued here,
    with its higher priority (the expansion's duplicate is skipped by the dedupe key)."""
    rows = [
        delivery_job_row(activity_id=activity_id, sender_id=sender_id, inbox=inbox, priority=priority)
        for inbox, priority in targets.inboxes.items()
    ]
    deliveries = await enqueue_many(session, rows)
    fan_outs = [
        fan_out_job_row(
            activity_id=activity_id, sender_id=sender_id, followers_of=account_id, priority=PRIORITY_FOLLOWERS
        )
        for account_id in targets.followers_of
    ]
    if targets.known_servers:
        fan_outs.append(
            known_servers_job_row(activity_id=activity_id, sender_id=sender_id, priority=PRIORITY_FOLLOWERS)
        )
    return deliveries, await enqueue_many(session, fan_outs)
