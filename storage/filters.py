"""Content filters: a local account's filters (Mastodon's `CustomFilter`), their keywords and the statuses
they name, and the one reader of the filters in force for an account (`active_filter_rules`).

A filter with an `expires_at` in the past stays listed but stops applying: every read compares it with the
current time, so no job removes it (as mutes). Filters are the account's own: never federated.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, String, cast, literal, null, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from storage.bus import Event
from storage.models import Filter, FilterKeyword, FilterStatus

FILTER_CONTEXTS = ("home", "notifications", "public", "thread", "account")
FILTER_ACTIONS = ("warn", "hide", "blur")

Reader = AsyncSession | AsyncConnection
# Published after a transaction that changed an account's filters, so its open streams re-read them (and
# its user stream tells the client, as Mastodon's `filters_changed`).
FILTERS_CHANGED = "filters_changed"


def filters_topic(account_id: int) -> str:
    """The bus topic every stream of `account_id` listens to for changes of its filters."""
    return f"filters:{account_id}"


def filters_changed(account_id: int) -> Event:
    """The event to publish once a change of `account_id`'s filters has committed."""
    return Event(topic=filters_topic(account_id), kind=FILTERS_CHANGED)


@dataclass(frozen=True)
class FilterRules:
    """A filter in force as matching needs it: its row's columns, its keywords as (keyword, whole_word), and
    the ids of the statuses it names."""

    filter_id: int
    title: str
    context: tuple[str, ...]
    action: str
    expires_at: datetime | None
    keywords: tuple[tuple[str, bool], ...]
    status_ids: frozenset[int]


def in_force(now: datetime) -> Any:
    """SQL condition: the filter has not expired at `now`."""
    return or_(Filter.expires_at.is_(None), Filter.expires_at > now)


async def filters_of(session: AsyncSession, account_id: int) -> list[Filter]:
    """An account's filters, expired ones included, oldest first."""
    statement = select(Filter).where(Filter.account_id == account_id).order_by(Filter.id)
    return list((await session.execute(statement)).scalars())


async def owned_filter(session: AsyncSession, account_id: int, filter_id: int) -> Filter | None:
    """The filter `filter_id` if `account_id` owns it, else None (another's filter is as good as missing)."""
    statement = select(Filter).where(Filter.id == filter_id, Filter.account_id == account_id)
    return (await session.execute(statement)).scalar_one_or_none()


Rule = FilterKeyword | FilterStatus


async def _rules_by_filter(
    session: AsyncSession, model: type[Rule], filter_ids: Sequence[int]
) -> dict[int, list[Any]]:
    found: dict[int, list[Any]] = defaultdict(list)
    if filter_ids:
        statement = select(model).where(model.filter_id.in_(filter_ids)).order_by(model.id)
        for rule in (await session.execute(statement)).scalars():
            found[rule.filter_id].append(rule)
    return found


async def keywords_of(session: AsyncSession, filter_ids: Sequence[int]) -> dict[int, list[FilterKeyword]]:
    """The keywords of each filter, oldest first."""
    return await _rules_by_filter(session, FilterKeyword, filter_ids)


async def statuses_of(session: AsyncSession, filter_ids: Sequence[int]) -> dict[int, list[FilterStatus]]:
    """The status entries of each filter, oldest first."""
    return await _rules_by_filter(session, FilterStatus, filter_ids)


async def owned_keyword(session: AsyncSession, account_id: int, keyword_id: int) -> FilterKeyword | None:
    """The keyword `keyword_id` if it belongs to one of `account_id`'s filters, else None."""
    return await _owned_rule(session, FilterKeyword, account_id, keyword_id)  # type: ignore[return-value]


async def owned_filter_status(session: AsyncSession, account_id: int, entry_id: int) -> FilterStatus | None:
    """The status entry `entry_id` if it belongs to one of `account_id`'s filters, else None."""
    return await _owned_rule(session, FilterStatus, account_id, entry_id)  # type: ignore[return-value]


async def _owned_rule(session: AsyncSession, model: type[Rule], account_id: int, rule_id: int) -> Rule | None:
    statement = (
        select(model)
        .join(Filter, Filter.id == model.filter_id)
        .where(model.id == rule_id, Filter.account_id == account_id)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def active_filter_rules(reader: Reader, account_id: int, now: datetime) -> list[FilterRules]:
    """The filters of `account_id` in force at `now` that name a keyword or a status, with their rules.
    One query when the account has none in force (the common case), two otherwise; Core selects, so a
    session or a connection will do."""
    filter_rows = (
        await reader.execute(
            select(Filter.id, Filter.title, Filter.context, Filter.action, Filter.expires_at)
            .where(Filter.account_id == account_id, in_force(now))
            .order_by(Filter.id)
        )
    ).all()
    if not filter_rows:
        return []
    filter_ids = [row.id for row in filter_rows]
    no_status = cast(null(), BigInteger)
    rules = union_all(
        select(FilterKeyword.filter_id, FilterKeyword.keyword, FilterKeyword.whole_word, no_status).where(
            FilterKeyword.filter_id.in_(filter_ids)
        ),
        select(FilterStatus.filter_id, cast(null(), String), literal(False), FilterStatus.status_id).where(
            FilterStatus.filter_id.in_(filter_ids)
        ),
    )
    keywords: dict[int, list[tuple[str, bool]]] = defaultdict(list)
    status_ids: dict[int, set[int]] = defaultdict(set)
    for filter_id, keyword, whole_word, status_id in (await reader.execute(rules)).all():
        if status_id is not None:
            status_ids[filter_id].add(status_id)
        elif keyword:
            keywords[filter_id].append((keyword, bool(whole_word)))
    return [
        FilterRules(
            filter_id=row.id,
            title=row.title,
            context=tuple(row.context or ()),
            action=row.action,
            expires_at=row.expires_at,
            keywords=tuple(keywords[row.id]),
            status_ids=frozenset(status_ids[row.id]),
        )
        for row in filter_rows
        if keywords[row.id] or status_ids[row.id]
    ]
