"""Every route of the client API, aggregated from one module per resource (add yours to the list)."""

from __future__ import annotations

from clientapi import notifications, search, static_files, statuses, timelines

routes = [
    *static_files.routes,
    *statuses.routes,
    *timelines.routes,
    *notifications.routes,
    *search.routes,
]
