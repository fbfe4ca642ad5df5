"""Who is calling: the Bearer token of a request, its scopes, and the account it acts for.

Scopes expand as in Mastodon: `read` covers every `read:*`, `write` every `write:*`, `admin:read` every
`admin:read:*`; the legacy `follow` scope covers reading and writing follows, blocks and mutes. An endpoint
names the scopes any one of which lets a token in (`require_auth(request, "write:follows")`).

Hot read endpoints that need only the caller's account id use `account_grant` instead: after one full
check the token's grant is remembered for the process, and the endpoint's own query proves the token still
live (`storage.oauth.token_still_valid`), so a request costs no authentication round trip.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from starlette.requests import Request

from clientapi.errors import Forbidden, Unauthorized, Unprocessable
from storage.acting import ACTING_STAFF, ActingStaff
from storage.context import Context
from storage.models import Account, OAuthApp, OAuthToken, User
from storage.oauth import TokenGrant, TokenGrantCache, token_owner
from storage.organisations import (
    NEED_ACT,
    NEED_ADMIN,
    NEED_POST,
    NEED_PROFILE,
    NEED_READ,
    member_role,
    role_permits,
)

FOLLOW_SCOPE_COVERS = frozenset(
    {"read:follows", "write:follows", "read:blocks", "write:blocks", "read:mutes", "write:mutes"}
)
TOP_SCOPES = ("read", "write", "follow", "push", "profile", "admin:read", "admin:write")
_STATE_KEY = "clientapi.auth"
_GRANTS_KEY = "clientapi.token_grants"
_MISSING = object()


@dataclass(frozen=True)
class AuthContext:
    """The caller: its token and app; `user` and `account` are None for client_credentials tokens."""

    token: OAuthToken
    app: OAuthApp | None
    user: User | None
    account: Account | None
    scopes: frozenset[str]
    # For a member's token acting as an organisation (`account`): the member's role in it.
    staff_role: str | None = None

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
        staff_role = await _acting_as_organisation(ctx, owner.token, owner.user, owner.account)
        auth = AuthContext(
            token=owner.token,
            app=owner.app,
            user=owner.user,
            account=owner.account,
            scopes=frozenset(parse_scopes(owner.token.scopes)),
            staff_role=staff_role,
        )
    request.scope[_STATE_KEY] = auth
    return auth


async def _acting_as_organisation(
    ctx: Context, token: OAuthToken, user: User | None, account: Account | None
) -> str | None:
    """For a token acting as an organisation: the member's role, noted as who acts (storage.acting) for the
    audit trail of whatever the request does; None for any other token."""
    if token.acting_account_id is None or user is None or account is None:
        return None
    async with ctx.db.read() as session:
        role = await member_role(session, token.acting_account_id, user.id)
        login = await session.scalar(select(Account.username).where(Account.id == user.account_id))
        app_name = await session.scalar(select(OAuthApp.name).where(OAuthApp.id == token.app_id))
    if role is None:  # left the organisation (its tokens are revoked then; a race ends here)
        raise Unauthorized("The access token is invalid")
    ACTING_STAFF.set(
        ActingStaff(
            organisation_id=account.id,
            organisation=account.username,
            user_id=user.id,
            login=login or "",
            role=role,
            via=f"app {app_name or '?'} (token {token.id})",
        )
    )
    return role


def _staff_need(scopes: tuple[str, ...], method: str, path: str) -> str:
    """What a request needs of an organisation's member (storage.organisations.role_permits decides)."""
    if any(scope.startswith("admin") for scope in scopes):
        return NEED_ADMIN
    if method in ("GET", "HEAD", "OPTIONS"):
        return NEED_READ
    if path.startswith(("/api/v1/accounts/update_credentials", "/api/v1/profile")):
        return NEED_PROFILE
    posting = any(scope_granted(frozenset({"write:statuses", "write:media"}), scope) for scope in scopes)
    if posting and not path.endswith(("/reblog", "/unreblog")):
        return NEED_POST
    return NEED_ACT


def _staff_may(auth: AuthContext, scopes: tuple[str, ...], method: str, path: str) -> bool:
    """What an organisation's member may do as it, by role (the one rule: `role_permits`)."""
    assert auth.staff_role is not None
    return role_permits(auth.staff_role, _staff_need(scopes, method, path))


def _check(
    auth: AuthContext, scopes: tuple[str, ...], *, user_required: bool, unconfirmed_ok: bool = False
) -> None:
    if scopes and not any(scope_granted(auth.scopes, scope) for scope in scopes):
        raise Forbidden("This action is outside the authorized scopes")
    if auth.user is not None and auth.account is not None:
        # The order of Mastodon's checks: a sign-up's token can do nothing until its address is confirmed.
        if auth.user.confirmed_at is None and not unconfirmed_ok:
            raise Forbidden("Your login is missing a confirmed e-mail address")
        if auth.account.suspended_at is not None or auth.user.disabled_at is not None:
            raise Forbidden("Your login is currently disabled")  # Mastodon's words for both
        if not auth.user.approved:
            raise Forbidden("Your login is currently pending approval")
    elif user_required:
        raise Unprocessable("This method requires an authenticated user")  # as Mastodon answers


async def require_auth(
    request: Request, *scopes: str, user: bool = True, unconfirmed_ok: bool = False
) -> AuthContext:
    """The caller, who must present a valid token holding one of `scopes` (401 without a valid token, 403
    without the scope). Unless `user=False`, the token must act for a local account (422 for an app token)
    whose e-mail address is confirmed (403), unless `unconfirmed_ok` (asking for a new confirmation mail)."""
    auth = await _load_auth(request)
    if auth is None:
        raise Unauthorized("The access token is invalid")
    _check(auth, scopes, user_required=user, unconfirmed_ok=unconfirmed_ok)
    if auth.staff_role is not None and not _staff_may(auth, scopes, request.method, request.url.path):
        raise Forbidden(f"Your role in this organisation ({auth.staff_role}) does not allow this action")
    return auth


async def caller_account(request: Request, *scopes: str) -> Account:
    """The local account acting through the request's token, checked as `require_auth` does."""
    auth = await require_auth(request, *scopes)
    assert auth.account is not None  # require_auth demands a user token
    return auth.account


async def optional_auth(request: Request, *scopes: str) -> AuthContext | None:
    """The caller if a token was sent (then checked like `require_auth`, app tokens allowed), else None."""
    auth = await _load_auth(request)
    if auth is None:
        return None
    _check(auth, scopes, user_required=False)
    return auth


def _grant_cache(request: Request) -> TokenGrantCache:
    caches = request.state.ctx.caches
    cache = caches.get(_GRANTS_KEY)
    if cache is None:
        cache = caches[_GRANTS_KEY] = TokenGrantCache()
    return cache  # type: ignore[no-any-return]


async def account_grant(request: Request, *scopes: str) -> TokenGrant:
    """What the caller's user token grants, for read endpoints that need only its account id: answered
    from memory after the token's first full check (`require_auth`, whose errors it raises).

    The grant may be stale: the endpoint must AND `storage.oauth.token_still_valid(grant.token_id)` into
    its query and call `confirm_grant` when that query comes back empty."""
    access_token = bearer_token(request)
    cache = _grant_cache(request)
    grant = cache.get(access_token) if access_token is not None else None
    if grant is not None and (not scopes or any(scope_granted(grant.scopes, scope) for scope in scopes)):
        return grant
    # Unknown token, or a scope refusal that a fresh look decides (a dead token is a 401, not a 403).
    return await _fresh_grant(request, cache, access_token, scopes)


async def _fresh_grant(
    request: Request, cache: TokenGrantCache, access_token: str | None, scopes: tuple[str, ...]
) -> TokenGrant:
    if access_token is not None:
        cache.forget(access_token)
    auth = await require_auth(request, *scopes)
    assert access_token is not None and auth.account is not None  # require_auth saw a user token
    grant = TokenGrant(token_id=auth.token.id, account_id=auth.account.id, scopes=auth.scopes)
    cache.put(access_token, grant)
    return grant


async def confirm_grant(request: Request, *scopes: str) -> TokenGrant:
    """Check the caller's token afresh after a query guarded by `token_still_valid` came back empty: raises
    as `require_auth` does when the token is dead, else returns its grant (the result was truly empty)."""
    request.scope.pop(_STATE_KEY, None)  # an AuthContext loaded earlier in this request may be stale too
    return await _fresh_grant(request, _grant_cache(request), bearer_token(request), scopes)


def viewer_account(auth: AuthContext | None) -> Account | None:
    """The account a (possibly anonymous) request acts for."""
    return auth.account if auth else None
