"""The OAuth2 token endpoints: `POST /oauth/token`, `POST /oauth/revoke`, and the RFC 8414 server metadata.

Grants: `authorization_code` (with PKCE S256 when the code carries a challenge; a client holding a challenge
may omit its secret, as a public client), `client_credentials` (an app token with no user), and `password`
only when `oauth.password_grant` is on (off by default, as in Mastodon 4.4+). Errors follow RFC 6749
(`{"error": "invalid_grant", "error_description": ...}`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clientapi.auth import TOP_SCOPES, parse_scopes, scope_granted
from clientapi.params import Params, read_params
from clientapi.responses import api_response
from login.credentials import LoginFailed, LoginThrottled, check_login
from storage.accounts import may_sign_in
from storage.context import Context
from storage.models import OAuthApp, OAuthCode, OAuthToken, User
from storage.oauth import (
    AUTHORITY_CHANGED,
    app_by_client_id,
    authenticate_client,
    create_token,
    revoke_token,
    take_code,
)
from storage.organisations import member_role

DEFAULT_SCOPE = "read"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthError(Exception):
    """An RFC 6749 error response."""

    def __init__(self, error: str, description: str, status_code: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status_code = status_code

    def response(self) -> Response:
        body = {"error": self.error, "error_description": self.description}
        return api_response(body, status_code=self.status_code, headers=NO_STORE)


def pkce_s256(verifier: str) -> str:
    """The S256 code challenge of a PKCE verifier (RFC 7636)."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def granted_scopes(requested: str | None, app: OAuthApp) -> str:
    """The scopes to grant: those requested (default `read`), each of which the app must hold."""
    scopes = parse_scopes(requested) or [DEFAULT_SCOPE]
    app_scopes = set(parse_scopes(app.scopes))
    if not all(scope_granted(app_scopes, scope) for scope in scopes):
        raise OAuthError("invalid_scope", "The requested scope is invalid, unknown, or malformed.")
    return " ".join(scopes)


def _client_credentials(request: Request, params: Params) -> tuple[str | None, str | None]:
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() == "basic" and encoded:
        try:
            client_id, _, client_secret = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as error:
            raise OAuthError("invalid_client", "Malformed client credentials.", 401) from error
        return client_id, client_secret
    return params.get_str("client_id"), params.get_str("client_secret")


async def _client(
    ctx: Context, client_id: str | None, client_secret: str | None, *, public_ok: bool
) -> OAuthApp:
    if not client_id:
        raise OAuthError("invalid_client", "Client authentication failed: no client_id.", 401)
    async with ctx.db.read() as session:
        if client_secret:
            app = await authenticate_client(session, client_id, client_secret)
        elif public_ok:
            app = await app_by_client_id(session, client_id)
        else:
            app = None
    if app is None:
        raise OAuthError("invalid_client", "Client authentication failed.", 401)
    return app


def token_to_entity(token: OAuthToken, access_token: str) -> dict[str, Any]:
    """The Token entity of a token just issued (the only moment its secret is known)."""
    return {
        "access_token": access_token,
        "token_type": "Bearer",
        "scope": token.scopes,
        "created_at": int(token.created_at.timestamp()),
    }


async def _authorization_code_grant(ctx: Context, request: Request, params: Params) -> dict[str, Any]:
    client_id, client_secret = _client_credentials(request, params)
    code = params.get_str("code")
    if not code:
        raise OAuthError("invalid_request", "The code parameter is missing.")
    verifier = params.get_str("code_verifier")
    app = await _client(ctx, client_id, client_secret, public_ok=bool(verifier))
    async with ctx.db.transaction() as session:
        grant = await take_code(session, code, app)
        if grant is not None:
            # A refusal here rolls back, so the code stays good for a corrected request.
            _check_code_exchange(grant, params.get_str("redirect_uri"), verifier, client_secret)
            user = await session.get(User, grant.user_id)
            if grant.acting_account_id is not None and (
                user is None or await member_role(session, grant.acting_account_id, user.id) is None
            ):
                raise OAuthError("invalid_grant", "The login is no longer a member of that account.")
            token, access_token = await create_token(
                session, app=app, user=user, scopes=grant.scopes, code=grant
            )
    if grant is None:  # refused after the commit: a reused code's tokens are revoked by now
        ctx.bus.publish(AUTHORITY_CHANGED)
        raise OAuthError("invalid_grant", "The authorization code is invalid, expired, used or not yours.")
    return token_to_entity(token, access_token)


def _check_code_exchange(
    grant: OAuthCode, redirect_uri: str | None, verifier: str | None, client_secret: str | None
) -> None:
    """OAuthError unless the exchange names the authorized redirect URI and proves the client (PKCE or secret)."""
    if redirect_uri != grant.redirect_uri:
        raise OAuthError("invalid_grant", "The redirect_uri does not match the one authorized.")
    if grant.code_challenge:
        if not verifier or not hmac.compare_digest(pkce_s256(verifier), grant.code_challenge):
            raise OAuthError("invalid_grant", "The code_verifier does not match the code challenge.")
    elif not client_secret:
        raise OAuthError("invalid_client", "Client authentication failed.", 401)


async def _client_credentials_grant(ctx: Context, request: Request, params: Params) -> dict[str, Any]:
    client_id, client_secret = _client_credentials(request, params)
    app = await _client(ctx, client_id, client_secret, public_ok=False)
    scopes = granted_scopes(params.get_str("scope"), app)
    async with ctx.db.transaction() as session:
        token, access_token = await create_token(session, app=app, user=None, scopes=scopes)
    return token_to_entity(token, access_token)


async def _password_grant(ctx: Context, request: Request, params: Params) -> dict[str, Any]:
    if not ctx.settings.oauth.password_grant:
        raise OAuthError("unsupported_grant_type", "The password grant is disabled on this server.")
    client_id, client_secret = _client_credentials(request, params)
    app = await _client(ctx, client_id, client_secret, public_ok=False)
    scopes = granted_scopes(params.get_str("scope"), app)
    client_address = request.client.host if request.client else None
    try:
        user, account = await check_login(
            ctx, params.get_str("username") or "", params.get_str("password") or "", client_address
        )
    except LoginFailed as error:
        raise OAuthError("invalid_grant", "The login or password is wrong.") from error
    if not may_sign_in(user, account):
        raise OAuthError("invalid_grant", "This login is disabled.")
    if user.totp_enabled_at is not None:
        # The password grant cannot carry the second factor: such an account signs apps in on the web.
        raise OAuthError(
            "invalid_grant", "This login needs its second factor: use the authorization code flow."
        )
    async with ctx.db.transaction() as session:
        token, access_token = await create_token(session, app=app, user=user, scopes=scopes)
    return token_to_entity(token, access_token)


GRANTS = {
    "authorization_code": _authorization_code_grant,
    "client_credentials": _client_credentials_grant,
    "password": _password_grant,
}


async def token(request: Request) -> Response:
    ctx: Context = request.state.ctx
    params = await read_params(request)
    grant = GRANTS.get(params.get_str("grant_type") or "")
    try:
        if grant is None:
            raise OAuthError("unsupported_grant_type", "The grant type is not supported by this server.")
        body = await grant(ctx, request, params)
    except OAuthError as error:
        return error.response()
    except LoginThrottled as error:
        return api_response(
            {"error": "slow_down", "error_description": error.message},
            status_code=429,
            headers={"Retry-After": str(error.retry_after)},
        )
    return api_response(body, headers=NO_STORE)


async def revoke(request: Request) -> Response:
    ctx: Context = request.state.ctx
    params = await read_params(request)
    client_id, client_secret = _client_credentials(request, params)
    async with ctx.db.read() as session:
        app = await authenticate_client(session, client_id or "", client_secret or "")
    if app is None:
        error = OAuthError("unauthorized_client", "You are not authorized to revoke this token", 403)
        return error.response()
    access_token = params.get_str("token")
    if access_token:
        async with ctx.db.transaction() as session:
            revoked = await revoke_token(session, access_token, app)
        if revoked:
            ctx.bus.publish(AUTHORITY_CHANGED)  # its open streams end now
    return api_response({})  # RFC 7009: unknown tokens are not an error


async def server_metadata(request: Request) -> Response:
    ctx: Context = request.state.ctx
    base = ctx.base_url
    scopes = [
        *TOP_SCOPES,
        *(f"{family}:{leaf}" for family in ("read", "write") for leaf in SCOPE_LEAVES[family]),
    ]
    grants = ["authorization_code", "client_credentials"]
    if ctx.settings.oauth.password_grant:
        grants.append("password")
    return api_response(
        {
            "issuer": f"{base}/",
            "service_documentation": "https://docs.joinmastodon.org/",
            "authorization_endpoint": f"{base}/oauth/authorize",
            "token_endpoint": f"{base}/oauth/token",
            "revocation_endpoint": f"{base}/oauth/revoke",
            "userinfo_endpoint": f"{base}/oauth/userinfo",
            "app_registration_endpoint": f"{base}/api/v1/apps",
            "scopes_supported": scopes,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "code_challenge_methods_supported": ["S256"],
            "grant_types_supported": grants,
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        }
    )


SCOPE_LEAVES = {
    "read": ("accounts", "blocks", "bookmarks", "favourites", "filters", "follows", "lists", "mutes",
             "notifications", "search", "statuses"),
    "write": ("accounts", "blocks", "bookmarks", "conversations", "favourites", "filters", "follows", "lists",
              "media", "mutes", "notifications", "reports", "statuses"),
}  # fmt: skip

routes = [
    Route("/oauth/token", token, methods=["POST"]),
    Route("/oauth/revoke", revoke, methods=["POST"]),
    Route("/.well-known/oauth-authorization-server", server_metadata, methods=["GET"]),
]
