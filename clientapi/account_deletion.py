"""Deleting one's own account, as GoToSocial's `POST /api/v1/accounts/delete` (Mastodon's API has none):
the password again, then the account is disabled at once and deleted after the grace period
(`outbox.actions.request_account_deletion`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clientapi.auth import require_auth
from clientapi.errors import ApiError, Forbidden, TooManyRequests
from clientapi.params import read_params
from clientapi.responses import api_response
from login.credentials import LoginFailed, LoginThrottled, check_login
from outbox.actions import request_account_deletion
from storage.context import Context


async def delete_own_account(request: Request) -> Response:
    """POST /api/v1/accounts/delete with `password`: 202 once the deletion is scheduled; 400 without a
    password, 403 with a wrong one (failures count towards the login throttle, 429)."""
    ctx: Context = request.state.ctx
    auth = await require_auth(request, "write:accounts")
    assert auth.account is not None and auth.user is not None
    password = (await read_params(request)).get_str("password") or ""
    if not password:
        raise ApiError(400, "no password provided")
    client_address = request.client.host if request.client else None
    try:
        user, _ = await check_login(ctx, auth.account.username, password, client_address)
    except LoginFailed as error:
        raise Forbidden("the password is wrong") from error
    except LoginThrottled as error:
        raise TooManyRequests(error.message, retry_after=error.retry_after) from error
    if user.id != auth.user.id:
        raise Forbidden("the password is wrong")
    due = await request_account_deletion(ctx, auth.account.id, actor=f"account:{auth.account.username}")
    return api_response({"message": "accepted", "deletion_due_at": due.isoformat()}, status_code=202)


routes = [Route("/api/v1/accounts/delete", delete_own_account, methods=["POST"])]
