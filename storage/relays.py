"""The relays this server subscribes to: their rows, which of our statuses go to them, and the bookkeeping
of what passes through them (state, last activity, counts).

A relay is matched three ways: by the inbox an admin gave (`relay_at`), by our `Follow`'s id when it answers
(`relay_answering`), and by its actor once it has accepted (`accepted_relay_of`) — the only way relayed
content is told apart from anything else a remote actor sends.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Relay, Status
from storage.types import utcnow

RELAY_STATES = ("pending", "accepted", "rejected")


def relayable(status: Status, original: Status | None = None) -> bool:
    """Whether a local status's activities go to the relays (Mastodon's rule): public, and not a reply to
    someone else; a boost only of a public status, boosted publicly."""
    if status.visibility != "public":
        return False
    if original is not None:
        return original.visibility == "public"
    return status.in_reply_to_account_id is None or status.in_reply_to_account_id == status.account_id


async def relay_at(session: AsyncSession, inbox_url: str) -> Relay | None:
    """The relay subscribed at `inbox_url`, in any state."""
    return (await session.execute(select(Relay).where(Relay.inbox_url == inbox_url))).scalar_one_or_none()


async def relay_answering(session: AsyncSession, follow_uri: str | None) -> Relay | None:
    """The relay whose subscription is our `Follow` with id `follow_uri`."""
    if follow_uri is None:
        return None
    return (await session.execute(select(Relay).where(Relay.follow_uri == follow_uri))).scalar_one_or_none()


async def accepted_relay_of(session: AsyncSession, actor_uri: str) -> Relay | None:
    """The accepted relay whose actor is `actor_uri`, or None: what that actor sends counts as relayed."""
    statement = select(Relay).where(Relay.actor_uri == actor_uri, Relay.state == "accepted")
    return (await session.execute(statement.limit(1))).scalar_one_or_none()


async def all_relays(session: AsyncSession) -> list[Relay]:
    """Every subscribed relay, oldest first."""
    return list((await session.execute(select(Relay).order_by(Relay.id))).scalars())


async def take_relay_inboxes(session: AsyncSession) -> list[str]:
    """The inboxes of the accepted relays, counting one more activity sent to each."""
    statement = (
        update(Relay)
        .where(Relay.state == "accepted")
        .values(sent_count=Relay.sent_count + 1)
        .returning(Relay.inbox_url)
    )
    return list((await session.execute(statement)).scalars())


def set_relay_state(relay: Relay, state: str, *, actor_uri: str | None = None) -> None:
    """Move `relay` to `state` (an answer to our Follow), learning its actor when it accepts."""
    if state not in RELAY_STATES:
        raise ValueError(f"unknown relay state {state!r}")
    relay.state = state
    relay.state_changed_at = utcnow()
    if actor_uri is not None:
        relay.actor_uri = actor_uri


async def count_relayed(session: AsyncSession, relay_id: int) -> None:
    """Note one relayed activity taken in from the relay."""
    await session.execute(
        update(Relay)
        .where(Relay.id == relay_id)
        .values(received_count=Relay.received_count + 1, last_received_at=utcnow())
    )
