"""The one decision whether an account's content filters match a status (Mastodon's `CustomFilter` rules).

A viewer's filters in force are read and compiled once (`read_viewer_filters`: one query when there are
none), then matched against each status: a filter's keywords are one case-insensitive alternation, a
`whole_word` keyword bounded by `\\b` on each side that starts or ends with a word character
(`CustomFilterKeyword#to_regex`); they search the status's searchable text (content warning, content as
plain text, poll options, media descriptions: `Status#searchable_text`). A filter also matches the statuses
it names and the boosts of them. The client API shapes the matches as FilterResult entities
(`clientapi.filtering`); the Web Push sender drops a notification a `hide` filter matches.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from apub.html import html_to_text
from storage.filters import FilterRules, Reader, active_filter_rules
from storage.models import MediaAttachment, Poll, Status
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

    rules: FilterRules
    context: frozenset[str]
    pattern: re.Pattern[str] | None

    @classmethod
    def of(cls, rules: FilterRules) -> CompiledFilter:
        alternatives = "|".join(keyword_pattern(keyword, whole) for keyword, whole in rules.keywords)
        return cls(
            rules=rules,
            context=frozenset(rules.context),
            pattern=re.compile(alternatives, re.IGNORECASE) if alternatives else None,
        )

    def in_force(self) -> bool:
        expires_at = self.rules.expires_at
        return expires_at is None or expires_at > utcnow()


@dataclass(frozen=True)
class FilterMatch:
    """A filter matching a status: the text its keywords matched, and the ids of the named statuses."""

    filter: CompiledFilter
    keyword_match: str | None
    status_matches: tuple[int, ...]


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


def searchable_text(
    spoiler_text: str,
    content_html: str,
    poll_options: Iterable[str],
    media_descriptions: Iterable[str | None],
) -> str:
    """What keywords are matched against (Mastodon's `Status#searchable_text`): the content warning, the
    content as plain text, the poll's options and the media descriptions."""
    parts = [spoiler_text, html_to_text(_BREAKS.sub("\n", content_html))]
    parts.extend(poll_options)
    parts.extend(description or "" for description in media_descriptions)
    return "\n\n".join(part for part in parts if part)


def matches(filters: Iterable[CompiledFilter], status_ids: Sequence[int], text: str) -> list[FilterMatch]:
    """The filters matching a status: by keyword in its `text`, or by id (`status_ids`: the status and, for
    a boost, the original)."""
    found = []
    for one in filters:
        match = one.pattern.search(text) if one.pattern is not None else None
        named = tuple(status_id for status_id in status_ids if status_id in one.rules.status_ids)
        if match is not None or named:
            found.append(FilterMatch(one, match.group(0) if match is not None else None, named))
    return found


def hides(found: Iterable[FilterMatch]) -> bool:
    """Whether any of these matches is a `hide` filter's."""
    return any(match.filter.rules.action == "hide" for match in found)


async def hides_notification(session: AsyncSession, recipient_id: int, status: Status) -> bool:
    """Whether `recipient_id`'s `notifications` filters hide a notification about `status` (for what is
    rendered outside the client API's notification lists: Web Push). A status of the recipient's own, or a
    boost of one, is never hidden."""
    applying = (await read_viewer_filters(session, recipient_id)).applying("notifications")
    if not applying or status.account_id == recipient_id:
        return False
    proper = status
    if status.reblog_of_id is not None:
        original = await session.get(Status, status.reblog_of_id)
        if original is None or original.account_id == recipient_id:
            return False
        proper = original
    descriptions = await session.scalars(
        select(MediaAttachment.description).where(MediaAttachment.status_id == proper.id)
    )
    options = await session.scalar(select(Poll.options).where(Poll.status_id == proper.id))
    text = searchable_text(proper.spoiler_text, proper.content, options or (), descriptions)
    return hides(matches(applying, (status.id, proper.id) if proper is not status else (status.id,), text))
