"""The viewer's content filters applied to the statuses an endpoint answers (matching itself:
`storage.filter_matching`).

Where a list has a filter context (home and lists: `home`; public and hashtag timelines: `public`; an
account's statuses: `account`; a thread: `thread`; notifications: `notifications`) only the filters of that
context apply: a `hide` match takes the status (or the notification about it) out, a `warn` or `blur` match
is reported in the status's `filtered`. Elsewhere (one status, bookmarks, favourites, search) there is no
context, nothing is taken out, and `filtered` reports every filter in force that matches, as Mastodon
reports them. A status by the viewer (or a boost of one, or the viewer's boost) is never filtered.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from clientapi.entities.filters import filter_summary
from storage.filter_matching import CompiledFilter, FilterMatch, hides, matches, searchable_text


def filter_result(match: FilterMatch) -> dict[str, Any]:
    """The FilterResult entity: the filter without its rules, the matched text, the matched status ids."""
    rules = match.filter.rules
    return {
        "filter": filter_summary(rules.filter_id, rules.title, rules.context, rules.action, rules.expires_at),
        "keyword_matches": [match.keyword_match] if match.keyword_match is not None else None,
        "status_matches": [str(status_id) for status_id in match.status_matches] or None,
    }


def entity_filter_results(
    applying: Sequence[CompiledFilter], status_ids: Sequence[int], entity: dict[str, Any]
) -> tuple[list[dict[str, Any]], bool]:
    """The FilterResults of a rendered status (`entity`, the boosted original's for a boost) and whether a
    `hide` filter is among them."""
    poll = entity.get("poll") or {}
    text = searchable_text(
        entity.get("spoiler_text") or "",
        entity.get("content") or "",
        (option["title"] for option in poll.get("options") or ()),
        (media.get("description") for media in entity.get("media_attachments") or ()),
    )
    found = matches(applying, status_ids, text)
    return [filter_result(match) for match in found], hides(found)
