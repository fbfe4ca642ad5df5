"""Signing up through an app, as Mastodon 4.x: `POST /api/v1/accounts` (with an app token), the
confirmation mail again (`POST /api/v1/emails/confirmations`), and approving or rejecting a waiting sign-up
(`POST /api/v1/admin/accounts/:id/approve|reject`). The rules are `registration`'s."""

from __future__ import annotations

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import registration
from clientapi.auth import require_auth
from clientapi.entities.admin_accounts import admin_account_to_entity
from clientapi.errors import Forbidden, NotFound
from clientapi.oauth_token import token_to_entity
from clientapi.params import read_params
from clientapi.responses import api_response
from storage.appeals import pending_appeals_of
from storage.context import Context
from storage.ids import parse_id
from storage.models import Account, User
from storage.oauth import create_token

STAFF_ROLES = ("moderator", "admin")


async def create_account(request: Request) -> Response:
    """Sign up; answers the new login's Token, which can do nothing until the address is confirmed (when
    mail is configured) and the sign-up approved (in approval mode)."""
    ctx: Context = request.state.ctx
    auth = await require_auth(request, "write:accounts", user=False)
    params = await read_params(request)
    signed_up = await registration.sign_up(
        ctx,
        registration.SignUp(
            username=params.get_str("username") or "",
            email=(params.get_str("email") or "").strip(),
            password=params.get_str("password") or "",
            agreement=bool(params.get_bool("agreement", False)),
            locale=params.get_str("locale") or "",
            reason=params.get_str("reason") or "",
            invite_code=params.get_str("invite_code") or "",
            client_address=request.client.host if request.client else None,
        ),
    )
    async with ctx.db.transaction() as session:
        token, access_token = await create_token(
            session, app=auth.app, user=signed_up.user, scopes=auth.token.scopes
        )
    return api_response(token_to_entity(token, access_token))


async def resend_confirmation(request: Request) -> Response:
    ctx: Context = request.state.ctx
    auth = await require_auth(request, "write:accounts", unconfirmed_ok=True)
    assert auth.user is not None
    params = await read_params(request)
    email = params.get_str("email")
    await registration.resend_confirmation(ctx, auth.user.id, email=email.strip() if email else None)
    return api_response({})


async def _staff_decision(request: Request) -> tuple[Context, int, str]:
    ctx: Context = request.state.ctx
    auth = await require_auth(request, "admin:write", "admin:write:accounts")
    assert auth.user is not None and auth.account is not None
    if auth.user.role not in STAFF_ROLES:
        raise Forbidden("This action is not allowed")
    account_id = parse_id(request.path_params["id"])
    if account_id is None:
        raise NotFound()
    return ctx, account_id, f"@{auth.account.username}"


async def approve(request: Request) -> Response:
    """Let a waiting sign-up in; answers its Admin::Account."""
    ctx, account_id, actor = await _staff_decision(request)
    await registration.approve_sign_up(ctx, account_id=account_id, actor=actor)
    async with ctx.db.read() as session:
        account, user = (
            await session.execute(
                select(Account, User)
                .join(User, User.account_id == Account.id)
                .where(Account.id == account_id)
            )
        ).one()
        appeals = await pending_appeals_of(session, [account_id])
    return api_response(admin_account_to_entity(account, user, ctx, appeals=appeals.get(account_id, [])))


async def reject(request: Request) -> Response:
    """Turn a waiting sign-up away (its account is deleted); answers `{}` as Mastodon."""
    ctx, account_id, actor = await _staff_decision(request)
    await registration.reject_sign_up(ctx, account_id=account_id, actor=actor)
    return api_response({})


routes = [
    Route("/api/v1/accounts", create_account, methods=["POST"]),
    Route("/api/v1/emails/confirmations", resend_confirmation, methods=["POST"]),
    Route("/api/v1/admin/accounts/{id}/approve", approve, methods=["POST"]),
    Route("/api/v1/admin/accounts/{id}/reject", reject, methods=["POST"]),
]
