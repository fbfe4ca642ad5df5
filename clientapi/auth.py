"""Who is calling: the Bearer token of a request, its scopes, and the account it acts for.

Scopes expand as in Mastodon: `read` covers every `read:*`, `write` every `write:*`, `admin:read` every
`admin:read:*`; the legacy `follow` scope covers reading and writing follows, blocks and mutes. An endpoint
names the scopes any one of which lets a token in (`require_auth(request, "write:follows")`).
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from clientapi.errors import Forbidden, Unauthorized, Unprocessable
from storage.context import Context
from storage.models import Account, OAuthApp, OAuthToken, User
from storage.oauth import token_owner

FOLLOW_SCOPE_COVERS = frozenset(
    {"read:follows", "write:follows", "read:blocks", "write:blocks", "read:mutes", "write:mutes"}
)
TOP_SCOPES = ("read", "write", "follow", "push", "profile", "admin:read", "admin:write")
_STATE_KEY = "clientapi.auth"
_MISSING = object()


@dataclass(frozen=True)
class AuthContext:
    """The caller: its token and app; `user` and `account` are None for client_credentials tokens."""

    token: OAuthToken
    app: OAuthApp | None
    user: User | None
    account: Account | None
    scopes: frozenset[str]

    @property
    def account_id(self) -> int | None:
        return self.account.id if self.account else None


def parse_scopes(scopes: str | None) -> list[str]:
    """Split a space-separated scope string (also tolerating `+` and commas), keeping order, no repeats."""
    seen: list[str] = []
    for scope in (scopes or "").replace("+", " ").replace(",", " ").split():
        if scope not in seen:
            seen.append(scope)
    return seen


def scope_granted(granted: frozenset[str] | set[str], required: str) -> bool:
    """True when a token holding `granted` may use an endpoint that asks for `required`."""
    if required in granted:
        return True
    if required in FOLLOW_SCOPE_COVERS and "follow" in granted:
        return True
    # read:statuses → read; admin:read:accounts → admin:read
    parent, _, _ = required.rpartition(":")
    while parent:
        if parent in granted:
            return True
        parent, _, _ = parent.rpartition(":")
    return False


def known_scope(scope: str) -> bool:
    """Whether `scope` is one Mastodon defines (a top scope or `read:`/`write:`/`admin:…` child)."""
    if scope in TOP_SCOPES:
        return True
    family, _, leaf = scope.rpartition(":")
    return family in ("read", "write", "admin:read", "admin:write") and leaf.isidentifier()


def bearer_token(request: Request) -> str | None:
    """The token from `Authorization: Bearer …` (or, as Mastodon allows, the `access_token` query)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.query_params.get("access_token") or None


async def _load_auth(request: Request) -> AuthContext | None:
    cached = request.scope.get(_STATE_KEY, _MISSING)
    if cached is not _MISSING:
        return cached  # type: ignore[return-value]
    access_token = bearer_token(request)
    auth: AuthContext | None = None
    if access_token is not None:
        ctx: Context = request.state.ctx
        async with ctx.db.read() as session:
            owner = await token_owner(session, access_token)
        if owner is None:
            raise Unauthorized("The access token is invalid")
        auth = AuthContext(
            token=owner.token,
            app=owner.app,
            user=owner.user,
            account=owner.account,
            scopes=frozenset(parse_scopes(owner.token.scopes)),
        )
    request.scope[_STATE_KEY] = auth
    return auth


def _check(auth: AuthContext, scopes: tuple[str, ...], *, user_required: bool) -> None:
    if scopes and not any(scope_granted(auth.scopes, scope) for scope in scopes):
        raise Forbidden("This action is outside the authorized scopes")
    if auth.user is not None and auth.account is not None:
        if auth.account.suspended_at is not None:
            raise Forbidden("Your login is currently disabled")
        if not auth.user.approved:
            raise Forbidden("Your login is currently pending approval")
    elif user_required:
        raise Unprocessable("This method requires an authenticated user")  # as Mastodon answers


async def require_auth(request: Request, *scopes: str, user: bool = True) -> AuthContext:
    """The caller, who must present a valid token holding one of `scopes` (401 without a valid token, 403
    without the scope). Unless `user=False`, the token must act for a local account (422 for an app token)."""
    auth = await _load_auth(request)
    if auth is None:
        raise Unauthorized("The access token is invalid")
    _check(auth, scopes, user_required=user)
    return auth


async def optional_auth(request: Request, *scopes: str) -> AuthContext | None:
    """The caller if a token was sent (then checked like `require_auth`, app tokens allowed), else None."""
    auth = await _load_auth(request)
    if auth is None:
        return None
    _check(auth, scopes, user_required=False)
    return auth


def viewer_account(auth: AuthContext | None) -> Account | None:
    """The account a (possibly anonymous) request acts for."""
    return auth.account if auth else None
