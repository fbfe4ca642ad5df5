"""The parameters of the filter endpoints (v2 and v1), read and checked as Mastodon validates them: a 422
names what is wrong, and nothing has been written yet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from clientapi.errors import Unprocessable, ValidationCode
from clientapi.params import Params, to_bool
from storage.filters import FILTER_ACTIONS, FILTER_CONTEXTS
from storage.models import Filter
from storage.types import utcnow

MAX_TITLE_LENGTH = 256
MAX_KEYWORD_LENGTH = 512  # Mastodon's CustomFilterKeyword::KEYWORD_LENGTH_LIMIT
UNCHANGED: Any = object()


def _required_text(value: Any, name: str, label: str, max_length: int) -> str:
    """A text parameter, stripped; blank or longer than `max_length` is a 422 about `label`."""
    text = (Params({name: value}).get_str(name, max_length=None) or "").strip()
    if not text:
        raise Unprocessable(
            f"Validation failed: {label} can't be blank", field=name, code=ValidationCode.BLANK
        )
    if len(text) > max_length:
        raise Unprocessable(
            f"Validation failed: {label} is too long (maximum is {max_length} characters)",
            field=name,
            code=ValidationCode.TOO_LONG,
        )
    return text


def parse_title(params: Params, name: str = "title") -> str:
    """The filter's title (v1: its `phrase`)."""
    return _required_text(params.get(name), name, "Title", MAX_TITLE_LENGTH)


def parse_context(params: Params) -> list[str]:
    """The contexts, stripped of blanks (as Mastodon normalises them); none, or one unknown, is a 422."""
    context = list(dict.fromkeys(item.strip() for item in params.get_str_list("context") if item.strip()))
    if not context or any(item not in FILTER_CONTEXTS for item in context):
        raise Unprocessable(
            "Validation failed: Context None or invalid context supplied",
            field="context",
            code=ValidationCode.INCLUSION,
        )
    return context


def parse_expiry(params: Params) -> datetime | None:
    """`expires_in` seconds from now as a moment; empty or null means never."""
    seconds = params.get_int("expires_in", minimum=0)
    return utcnow() + timedelta(seconds=seconds) if seconds is not None else None


def parse_keyword(value: Any, name: str) -> str:
    """One keyword."""
    return _required_text(value, name, "Keyword", MAX_KEYWORD_LENGTH)


@dataclass(frozen=True)
class KeywordChange:
    """One item of `keywords_attributes`: a keyword to add (no `keyword_id`), change or delete (`destroy`)."""

    keyword_id: int | None
    keyword: str | None
    whole_word: bool | None
    destroy: bool


def keyword_changes(params: Params) -> list[KeywordChange]:
    """The items of `keywords_attributes` (a list, or Rails' indexed mapping), all-blank ones left out."""
    changes = []
    for item in params.get_list("keywords_attributes"):
        if not isinstance(item, dict):
            raise Unprocessable(
                "Validation failed: keywords_attributes must be a list of objects",
                field="keywords_attributes",
            )
        fields = Params(item)
        destroy = to_bool(item.get("_destroy", False), "keywords_attributes[][_destroy]")
        keyword_id = fields.get_id("id")
        if keyword_id is None and all(item.get(key) in (None, "") for key in ("keyword", "whole_word")):
            continue  # Rails' reject_if: :all_blank
        keyword = None
        if "keyword" in item or keyword_id is None:
            keyword = parse_keyword(item.get("keyword"), "keywords_attributes[][keyword]")
        changes.append(KeywordChange(keyword_id, keyword, fields.get_bool("whole_word"), destroy))
    return changes


@dataclass(frozen=True)
class FilterChanges:
    """The filter attributes a v2 request sets (UNCHANGED for those it leaves) and its keyword items."""

    title: Any
    context: Any
    action: Any
    expires_at: Any
    keywords: list[KeywordChange]

    @classmethod
    def read(cls, params: Params, *, creating: bool) -> FilterChanges:
        action = UNCHANGED
        if creating or "filter_action" in params:
            action = params.get_str("filter_action") or "warn"
            if action not in FILTER_ACTIONS:
                raise Unprocessable(
                    "Validation failed: Action is not included in the list",
                    field="filter_action",
                    code=ValidationCode.INCLUSION,
                )
        return cls(
            title=parse_title(params) if creating or "title" in params else UNCHANGED,
            context=parse_context(params) if creating or "context" in params else UNCHANGED,
            action=action,
            expires_at=parse_expiry(params) if creating or "expires_in" in params else UNCHANGED,
            keywords=keyword_changes(params),
        )

    def apply(self, account_filter: Filter) -> None:
        """Set the attributes the request gave on the filter."""
        for name, value in (
            ("title", self.title),
            ("context", self.context),
            ("action", self.action),
            ("expires_at", self.expires_at),
        ):
            if value is not UNCHANGED:
                setattr(account_filter, name, value)
