"""Every route of the client API, aggregated from one module per resource (add yours to the list)."""

from __future__ import annotations

from clientapi import static_files

routes = [
    *static_files.routes,
]
