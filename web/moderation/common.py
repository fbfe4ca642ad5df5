"""What the moderation pages share: how the audit log names the acting staff member, the keyset paging of
their lists, and the page that answers a refused action."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from login.sessions import SignedIn
from moderation import ModerationError
from storage.ids import parse_id
from web.pages import error_page

ADMIN_PAGE = "/web/admin"


def actor_of(login: SignedIn) -> str:
    """The audit log's name for a staff member acting on the web (as for the admin API: `@username`)."""
    return f"@{login.account.username}"


def older_than(request: Request) -> int | None | Literal[False]:
    """The `max_id` a list page starts below: None for the first page, False when it is no id (400)."""
    raw = request.query_params.get("max_id")
    if raw is None:
        return None
    max_id = parse_id(raw)
    return False if max_id is None else max_id


def older_page_url(request: Request, last_id: int) -> str:
    """The list's next (older) page: the same filters, from below `last_id` (keyset paging by id)."""
    query = [(name, value) for name, value in request.query_params.multi_items() if name != "max_id"]
    return f"{request.url.path}?{urlencode([*query, ('max_id', str(last_id))])}"


async def refused(request: Request, error: ModerationError) -> Response:
    """The error page of a refused moderation action, with its status (403, 404 or 422)."""
    kind = {403: "forbidden", 404: "no_page"}.get(error.status_code, "not_done")
    return await error_page(request, error.status_code, kind, detail=str(error))
