"""What the moderation pages share: how the audit log names the acting staff member, and the page that
answers a refused action."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from login.sessions import SignedIn
from moderation import ModerationError
from web.pages import error_page

ADMIN_PAGE = "/web/admin"


def actor_of(login: SignedIn) -> str:
    """The audit log's name for a staff member acting on the web (as for the admin API: `@username`)."""
    return f"@{login.account.username}"


async def refused(request: Request, error: ModerationError) -> Response:
    """The error page of a refused moderation action, with its status (403, 404 or 422)."""
    kind = {403: "forbidden", 404: "no_page"}.get(error.status_code, "not_done")
    return await error_page(request, error.status_code, kind, detail=str(error))
