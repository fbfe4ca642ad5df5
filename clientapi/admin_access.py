"""Who may use the admin API: a token with the endpoint's `admin:…` scope AND a user whose role grants the
action, as Mastodon's role permissions do — moderators and admins handle accounts and reports, only admins
set domain policy (and relays). Anyone else gets 403 with a JSON error."""

from __future__ import annotations

from starlette.requests import Request

from clientapi.auth import AuthContext, require_auth
from clientapi.errors import Forbidden

STAFF_ROLES = ("moderator", "admin")
ADMIN_ROLES = ("admin",)


async def require_staff(request: Request, *scopes: str, roles: tuple[str, ...] = STAFF_ROLES) -> AuthContext:
    """The caller, who holds one of `scopes` and one of `roles` (403 otherwise)."""
    auth = await require_auth(request, *scopes)
    if auth.user is None or auth.account is None or auth.user.role not in roles:
        raise Forbidden("This action is not allowed")
    return auth


def audit_actor(auth: AuthContext) -> str:
    """How the audit log names a user acting through the API (the CLI's entries say `cli:<os user>`)."""
    assert auth.account is not None
    return f"@{auth.account.username}"
