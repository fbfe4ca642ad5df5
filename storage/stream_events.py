"""Who heard of a status: the bus events that tell them it was edited or deleted.

A new status is announced by the fan-out (`storage.fanout`), which knows its readers as it writes their feed
rows. An edit or a deletion must reach the same places — the home timelines and lists the status entered,
and the public streams when it is public — so it is read back from the feed rows, before a deletion
removes them.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.bus import Event
from storage.models import HomeFeedEntry, ListFeedEntry, Status

# The one topic of public statuses: the streaming side sorts them into its public and hashtag channels.
PUBLIC_TOPIC = "public"


async def reach_events(session: AsyncSession, status: Status, kind: str) -> list[Event]:
    """Events of `kind` ("delete" or "status.update") about `status` for every home timeline and list that
    holds it, and the public streams when it is a public original. Call before a deletion drops feed rows."""
    payload = {"status_id": status.id}
    readers = await session.scalars(
        select(HomeFeedEntry.account_id).where(HomeFeedEntry.status_id == status.id)
    )
    events = [Event(topic=f"user:{reader}", kind=kind, payload=payload) for reader in sorted(set(readers))]
    lists = await session.scalars(select(ListFeedEntry.list_id).where(ListFeedEntry.status_id == status.id))
    events += [Event(topic=f"list:{list_id}", kind=kind, payload=payload) for list_id in sorted(set(lists))]
    if status.visibility == "public" and status.reblog_of_id is None:
        events.append(Event(topic=PUBLIC_TOPIC, kind=kind, payload=payload))
    return events
