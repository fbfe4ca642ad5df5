"""A stream's view of its listener's content filters (`clientapi.filtering`), compiled once per connection.

They are read when first needed and again after they change: at once when the `filters:{account}` topic says
so (`storage.filters.filters_changed`, published after a filter endpoint's transaction commits), else within
FRESH_SECONDS, for a change whose event this process did not hear.
"""

from __future__ import annotations

import time
from typing import Any

from clientapi.filtering import entity_filter_results
from storage.filter_matching import ViewerFilters, read_viewer_filters
from storage.filters import Reader

FRESH_SECONDS = 30.0


class StreamFilters:
    """The listener's compiled filters, re-read after `forget()` or FRESH_SECONDS."""

    def __init__(self, viewer_id: int) -> None:
        self._viewer_id = viewer_id
        self._filters: ViewerFilters | None = None
        self._read_at = 0.0

    def forget(self) -> None:
        self._filters = None

    async def current(self, reader: Reader) -> ViewerFilters:
        now = time.monotonic()
        if self._filters is None or now - self._read_at > FRESH_SECONDS:
            self._filters = await read_viewer_filters(reader, self._viewer_id)
            self._read_at = now
        return self._filters


def public_filter_results(
    filters: ViewerFilters, status_id: int, entity: dict[str, Any]
) -> tuple[list[dict[str, Any]], bool]:
    """The `public` filters' results for a public status rendered anonymously, and whether one hides it."""
    applying = filters.applying("public")
    if not applying:
        return [], False
    return entity_filter_results(applying, (status_id,), entity)
