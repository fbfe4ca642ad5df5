"""The Poll entity (as Mastodon's `REST::PollSerializer`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from clientapi.entities.common import format_optional_time
from storage.types import utcnow


def poll_to_entity(
    poll: Any, viewer_id: int | None, own_votes: list[int] | None, now: datetime | None = None
) -> dict[str, Any]:
    """A poll row (ORM or plain row) as `viewer_id` sees it; `own_votes` are the viewer's choices.

    Hidden totals show no per-option counts until the poll ends; the author counts as having voted, as
    in Mastodon. `voted` and `own_votes` are null without a viewer."""
    expired = poll.expires_at is not None and poll.expires_at <= (now or utcnow())
    shown = expired or not poll.hide_totals
    tallies = list(poll.tallies) + [0] * (len(poll.options) - len(poll.tallies))
    chosen = own_votes or []
    return {
        "id": str(poll.id),
        "expires_at": format_optional_time(poll.expires_at),
        "expired": expired,
        "multiple": poll.multiple,
        "votes_count": poll.votes_count,
        "voters_count": poll.voters_count,
        "voted": None if viewer_id is None else viewer_id == poll.account_id or bool(chosen),
        "own_votes": None if viewer_id is None else chosen,
        "options": [
            {"title": title, "votes_count": count if shown else None}
            for title, count in zip(poll.options, tallies, strict=False)
        ],
        "emojis": [],
    }
