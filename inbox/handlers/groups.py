"""What the inbox does for groups (FEP-1b12): a received post addressed to a local group asks the group to
announce it, and a group's `Announce` of an activity (`Announce(Create(Note))`, as Lemmy sends it) is read
as a boost of the activity's object."""

from __future__ import annotations

from typing import Any

from storage.context import Context
from storage.groups import local_groups_among, queue_announces
from storage.urls import LocalUrls
from webfinger.convert import id_of
from webfinger.resolve import PreparedNote

# Activities a group may wrap whose object is the post it shares (Lemmy also wraps Like, Delete, …: those
# are not boosts and are left alone).
_SHARED_ACTIVITIES = frozenset({"Create"})


async def ask_groups_to_announce(ctx: Context, prepared: PreparedNote) -> int:
    """Queue an announce for each local group the stored post addresses (in `to`, `cc` or `audience`, or by
    a mention); the group's job decides whether the author may post to it. Returns how many were queued."""
    urls = LocalUrls(ctx.base_url)
    candidates = [
        uri for uri in prepared.note.addressed.union(prepared.note.mention_uris) if urls.is_local(uri)
    ]
    if not candidates:
        return 0
    async with ctx.db.transaction() as session:
        groups = await local_groups_among(session, candidates)
        return await queue_announces(session, groups, prepared.note.uri) if groups else 0


def announced_object_id(activity: dict[str, Any]) -> str | None:
    """The id of what an `Announce` shares: its object, or the object of the `Create` it wraps."""
    target = activity.get("object")
    if isinstance(target, dict) and target.get("type") in _SHARED_ACTIVITIES:
        return id_of(target.get("object"))
    return id_of(target)
