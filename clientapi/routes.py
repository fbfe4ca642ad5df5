"""Every route of the client API, aggregated from one module per resource (add yours to the list)."""

from __future__ import annotations

from clientapi import (
    accounts,
    apps,
    blocks,
    domain_blocks,
    fixed_answers,
    follows,
    instance,
    instance_pages,
    lists,
    media,
    notifications,
    oauth_authorize,
    oauth_token,
    reports,
    search,
    startup,
    static_files,
    statuses,
    streaming,
    timelines,
)

routes = [
    *accounts.routes,
    *follows.routes,
    *apps.routes,
    *blocks.routes,
    *domain_blocks.routes,
    *fixed_answers.routes,
    *instance.routes,
    *instance_pages.routes,
    *lists.routes,
    *media.routes,
    *oauth_authorize.routes,
    *oauth_token.routes,
    *static_files.routes,
    *statuses.routes,
    *timelines.routes,
    *notifications.routes,
    *search.routes,
    *reports.routes,
    *startup.routes,
    *streaming.routes,
]
