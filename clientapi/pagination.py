"""Mastodon's id-based pagination: `max_id`, `since_id`, `min_id`, `limit`, and the `Link` header.

- `max_id`: only items older than it (id < max_id); the newest first.
- `since_id`: only items newer than it (id > since_id), still the newest first (a gap may remain).
- `min_id`: the items immediately newer than it (id > min_id), taken oldest first, shown newest first.
- `limit`: default 20, at most 40 (endpoints may choose other bounds).

The `Link` header lists `next` (older: `max_id` = the last item's id) first, then `prev` (newer: `min_id` = the
first item's id), as absolute URLs keeping the request's other query parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute
from starlette.requests import Request

from clientapi.errors import Unprocessable
from clientapi.params import Params
from storage.timelines import ListQuery, written_out

DEFAULT_LIMIT = 20
MAX_LIMIT = 40
# Offset paging (search) walks rows it skips; nobody pages this deep, and the bound keeps OFFSET small.
MAX_OFFSET = 10_000
PAGINATION_NAMES = frozenset({"max_id", "since_id", "min_id", "limit", "offset"})

Row = TypeVar("Row")


@dataclass(frozen=True)
class Page:
    """The requested window of a paginated list."""

    max_id: int | None = None
    since_id: int | None = None
    min_id: int | None = None
    limit: int = DEFAULT_LIMIT

    @classmethod
    def from_params(
        cls, params: Params, *, default_limit: int = DEFAULT_LIMIT, max_limit: int = MAX_LIMIT
    ) -> Page:
        """Read the window from request parameters; a limit out of range is clamped, as Mastodon does."""
        limit = params.get_int("limit", default_limit, minimum=1, maximum=max_limit, clamp=True)
        return cls(
            max_id=_lenient_id(params, "max_id"),
            since_id=_lenient_id(params, "since_id"),
            min_id=_lenient_id(params, "min_id"),
            limit=limit or default_limit,
        )

    @property
    def ascending(self) -> bool:
        """True when rows must be fetched oldest first (a `min_id` page) and reversed afterwards."""
        return self.min_id is not None


def _lenient_id(params: Params, name: str) -> int | None:
    # Clients sometimes send an id that is not ours (another server's, or empty): treat it as absent.
    try:
        return params.get_id(name)
    except Unprocessable:
        return None


def apply_page(
    statement: Select[Any],
    id_column: InstrumentedAttribute[Any] | Any,
    page: Page,
    *,
    joined_columns: Sequence[Any] = (),
) -> Select[Any]:
    """Add the window's bounds, order and limit on `id_column` to a select; the bounds also go on
    `joined_columns`, columns the statement joins equal to `id_column` (see `ListQuery.joined_columns`).

    Run it and pass the rows through `in_display_order` (a `min_id` page is fetched oldest first)."""
    for column in (id_column, *joined_columns):
        if page.max_id is not None:
            statement = statement.where(column < page.max_id)
        if page.since_id is not None:
            statement = statement.where(column > page.since_id)
        if page.min_id is not None:
            statement = statement.where(column > page.min_id)
    order = id_column.asc() if page.ascending else id_column.desc()
    return statement.order_by(order).limit(written_out(page.limit))


def page_statement(query: ListQuery, page: Page) -> Select[Any]:
    """The statement reading one page of a list: `apply_page` on its statement, or, for a list that takes
    its page of ids first (`ListQuery.rows_of_page`), on the ids, with the rows joined to them after.

    Run it and pass the rows through `in_display_order`."""
    statement = apply_page(query.statement, query.page_column, page, joined_columns=query.joined_columns)
    if query.rows_of_page is None:
        return statement
    ids = statement.subquery("page")
    order = ids.c.page_id.asc() if page.ascending else ids.c.page_id.desc()
    return query.rows_of_page(ids).order_by(order)


def in_display_order(rows: Sequence[Row], page: Page) -> list[Row]:
    """Rows newest first, whatever order `apply_page` fetched them in."""
    return list(reversed(rows)) if page.ascending else list(rows)


def link_header(
    request: Request, page_ids: Sequence[int | str], *, base_url: str | None = None
) -> str | None:
    """The `Link` header for a page whose items' pagination ids are `page_ids` (newest first); None when
    the page is empty. URLs are absolute, on `base_url` (the instance's) when given."""
    if not page_ids:
        return None
    kept = [
        (name, value) for name, value in request.query_params.multi_items() if name not in PAGINATION_NAMES
    ]
    limit = request.query_params.get("limit")
    if limit:
        kept.append(("limit", limit))
    root = (base_url.rstrip("/") if base_url else str(request.base_url).rstrip("/")) + request.url.path

    def url(extra: tuple[str, str]) -> str:
        return f"{root}?{urlencode([*kept, extra])}"

    next_url = url(("max_id", str(page_ids[-1])))
    prev_url = url(("min_id", str(page_ids[0])))
    return f'<{next_url}>; rel="next", <{prev_url}>; rel="prev"'


def link_headers(request: Request, page_ids: Sequence[int | str]) -> dict[str, str]:
    """`{"Link": ...}` for a response, or {} for an empty page; absolute URLs on the instance's base URL."""
    ctx = getattr(request.state, "ctx", None)
    header = link_header(request, page_ids, base_url=ctx.base_url if ctx is not None else None)
    return {"Link": header} if header else {}
