"""Filter, FilterKeyword, FilterStatus and V1::Filter entities, as Mastodon's serializers shape them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from clientapi.entities.common import format_optional_time
from storage.models import Filter, FilterKeyword, FilterStatus


def filter_summary(
    filter_id: int, title: str, context: Sequence[str], action: str, expires_at: datetime | None
) -> dict[str, Any]:
    """The Filter entity without its rules, as a FilterResult carries it."""
    return {
        "id": str(filter_id),
        "title": title,
        "context": list(context),
        "expires_at": format_optional_time(expires_at),
        "filter_action": action,
    }


def keyword_to_entity(keyword: FilterKeyword) -> dict[str, Any]:
    """The FilterKeyword entity."""
    return {"id": str(keyword.id), "keyword": keyword.keyword, "whole_word": keyword.whole_word}


def filter_status_to_entity(entry: FilterStatus) -> dict[str, Any]:
    """The FilterStatus entity."""
    return {"id": str(entry.id), "status_id": str(entry.status_id)}


def filter_to_entity(
    account_filter: Filter, keywords: Sequence[FilterKeyword], statuses: Sequence[FilterStatus]
) -> dict[str, Any]:
    """The Filter entity with its keywords and statuses (what the v2 filter endpoints answer)."""
    return {
        **filter_summary(
            account_filter.id,
            account_filter.title,
            account_filter.context,
            account_filter.action,
            account_filter.expires_at,
        ),
        "keywords": [keyword_to_entity(keyword) for keyword in keywords],
        "statuses": [filter_status_to_entity(entry) for entry in statuses],
    }


def v1_filter_to_entity(keyword: FilterKeyword, account_filter: Filter) -> dict[str, Any]:
    """The V1::Filter entity: one keyword seen with its filter's context, expiry and action (`irreversible`
    is a `hide` filter), as Mastodon maps the v1 API onto v2 filters."""
    return {
        "id": str(keyword.id),
        "phrase": keyword.keyword,
        "context": list(account_filter.context),
        "whole_word": keyword.whole_word,
        "expires_at": format_optional_time(account_filter.expires_at),
        "irreversible": account_filter.action == "hide",
    }
