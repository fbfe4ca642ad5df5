"""The viewer's content filters applied to the statuses an endpoint answers.

A viewer's filters in force are read and compiled once per request (`read_viewer_filters`: one query when
there are none), or once per stream (re-read when they change), then matched against each status as
Mastodon does: a filter's keywords are one case-insensitive alternation, a `whole_word` keyword bounded by
`\\b` on each side that starts or ends with a word character; they search the status's searchable text
(content warning, content as plain text, poll options, media descriptions). A filter also matches the
statuses it names and the boosts of them.

Where a list has a filter context (home and lists: `home`; public and hashtag timelines: `public`; an
account's statuses: `account`; a thread: `thread`; notifications: `notifications`) only the filters of that
context apply: a `hide` match takes the status (or the notification about it) out, a `warn` or `blur` match
is reported in the status's `filtered`. Elsewhere (one status, bookmarks, favourites, search) there is no
context, nothing is taken out, and `filtered` reports every filter in force that matches, as Mastodon
reports them. A status by the viewer (or a boost of one, or the viewer's boost) is never filtered.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from apub.html import html_to_text
from clientapi.entities.filters import filter_summary
from storage.filters import FilterRules, Reader, active_filter_rules
from storage.types import utcnow

# Paragraph and line breaks are word boundaries once the tags are gone (Mastodon's plain-text formatter).
_BREAKS = re.compile(r"<br\s*/?>|</p>", re.IGNORECASE)
_STARTS_WITH_WORD = re.compile(r"\A\w")
_ENDS_WITH_WORD = re.compile(r"\w\Z")


def keyword_pattern(keyword: str, whole_word: bool) -> str:
    """The regular expression of one keyword (Mastodon's `CustomFilterKeyword#to_regex`)."""
    escaped = re.escape(keyword)
    if not whole_word:
        return escaped
    start = r"\b" if _STARTS_WITH_WORD.search(keyword) else ""
    end = r"\b" if _ENDS_WITH_WORD.search(keyword) else ""
    return f"{start}{escaped}{end}"


@dataclass(frozen=True)
class CompiledFilter:
    """One filter in force, ready to match."""

    summary: dict[str, Any]  # the Filter entity as a FilterResult carries it
    context: frozenset[str]
    action: str
    rules: FilterRules
    pattern: re.Pattern[str] | None

    @classmethod
    def of(cls, rules: FilterRules) -> CompiledFilter:
        alternatives = "|".join(keyword_pattern(keyword, whole) for keyword, whole in rules.keywords)
        return cls(
            summary=filter_summary(
                rules.filter_id, rules.title, rules.context, rules.action, rules.expires_at
            ),
            context=frozenset(rules.context),
            action=rules.action,
            rules=rules,
            pattern=re.compile(alternatives, re.IGNORECASE) if alternatives else None,
        )

    def in_force(self) -> bool:
        expires_at = self.rules.expires_at
        return expires_at is None or expires_at > utcnow()


@dataclass(frozen=True)
class ViewerFilters:
    """A viewer's compiled filters in force."""

    viewer_id: int
    filters: tuple[CompiledFilter, ...]

    def applying(self, context: str | None) -> tuple[CompiledFilter, ...]:
        """The filters in force now that apply in `context` (None: all of them)."""
        return tuple(
            one for one in self.filters if (context is None or context in one.context) and one.in_force()
        )


async def read_viewer_filters(reader: Reader, viewer_id: int) -> ViewerFilters:
    """The viewer's filters in force, compiled."""
    rules = await active_filter_rules(reader, viewer_id, utcnow())
    return ViewerFilters(viewer_id, tuple(CompiledFilter.of(one) for one in rules))


def searchable_text(entity: dict[str, Any], poll: dict[str, Any] | None) -> str:
    """What keywords are matched against (Mastodon's `Status#searchable_text`): the content warning, the
    content as plain text, the poll's options and the media descriptions."""
    parts = [entity.get("spoiler_text") or "", html_to_text(_BREAKS.sub("\n", entity.get("content") or ""))]
    if poll:
        parts.extend(str(option.get("title") or "") for option in poll.get("options") or ())
    parts.extend(media.get("description") or "" for media in entity.get("media_attachments") or ())
    return "\n\n".join(part for part in parts if part)


def filter_results(
    filters: Iterable[CompiledFilter], status_ids: Iterable[int], text: str
) -> list[dict[str, Any]]:
    """The FilterResult entities of the filters matching a status: by keyword in its `text`, or by id
    (`status_ids`: the status and, for a boost, the original)."""
    results = []
    ids = tuple(status_ids)
    for one in filters:
        match = one.pattern.search(text) if one.pattern is not None else None
        named = [str(status_id) for status_id in ids if status_id in one.rules.status_ids]
        if match is None and not named:
            continue
        results.append(
            {
                "filter": one.summary,
                "keyword_matches": [match.group(0)] if match is not None else None,
                "status_matches": named or None,
            }
        )
    return results


def hides(results: Iterable[dict[str, Any]]) -> bool:
    """Whether any of these results is a `hide` filter's."""
    return any(result["filter"]["filter_action"] == "hide" for result in results)
