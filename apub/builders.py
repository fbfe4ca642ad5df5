"""Builders of the activities we send: pure functions from ids and addresses to AS2 documents.

They know nothing of storage; `outbox.render` feeds them our rows. Every top-level document carries the
`@context` we publish; embedded objects do not repeat it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from apub.vocab import OBJECT_CONTEXT


def iso_datetime(value: datetime) -> str:
    """An xsd:dateTime in UTC with second precision, as Mastodon writes them."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datetime(value: Any) -> datetime | None:
    """An ISO 8601 timestamp of a remote document as an aware UTC datetime; None when absent or
    unparsable."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def build_activity(
    activity_type: str,
    activity_id: str,
    actor: str,
    activity_object: str | dict[str, Any],
    *,
    to: list[str] | None = None,
    cc: list[str] | None = None,
    published: datetime | None = None,
    target: str | None = None,
    embedded: bool = False,
) -> dict[str, Any]:
    """An activity `{type, id, actor, object}` with optional addressing, time and target.

    `embedded=True` leaves out `@context` (for an activity inside another, such as the object of `Undo`).
    """
    document: dict[str, Any] = {} if embedded else {"@context": OBJECT_CONTEXT}
    document.update({"id": activity_id, "type": activity_type, "actor": actor, "object": activity_object})
    if target is not None:
        document["target"] = target
    if to is not None:
        document["to"] = to
    if cc is not None:
        document["cc"] = cc
    if published is not None:
        document["published"] = iso_datetime(published)
    return document


def build_undo(
    undo_id: str,
    actor: str,
    original: dict[str, Any],
    *,
    to: list[str] | None = None,
    cc: list[str] | None = None,
) -> dict[str, Any]:
    """`Undo` of one of our earlier activities, embedding it (without its `@context`)."""
    embedded = {key: value for key, value in original.items() if key != "@context"}
    return build_activity("Undo", undo_id, actor, embedded, to=to, cc=cc)


def build_tombstone(
    object_id: str, *, deleted: datetime | None = None, embedded: bool = True
) -> dict[str, Any]:
    """A `Tombstone` standing where a deleted object was (`atomUri` for Mastodon's benefit)."""
    document: dict[str, Any] = {} if embedded else {"@context": OBJECT_CONTEXT}
    document.update({"id": object_id, "type": "Tombstone", "atomUri": object_id})
    if deleted is not None:
        document["deleted"] = iso_datetime(deleted)
    return document
