"""Accounts: the caller's own (`verify_credentials`, `update_credentials`, `preferences`) and anyone's
(`GET :id`, `lookup`, `search`, `:id/statuses`, `:id/followers`, `:id/following`, `relationships`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clientapi.account_lookup import account_from_path, find_account_by_acct
from clientapi.auth import AuthContext, optional_auth, require_auth, viewer_account
from clientapi.entities.accounts import (
    account_to_entity,
    credential_account_to_entity,
    relationship_to_entity,
)
from clientapi.entities.statuses import statuses_to_entities
from clientapi.errors import NotFound, Unprocessable, ValidationCode
from clientapi.pagination import MAX_OFFSET, Page, in_display_order, link_headers, page_statement
from clientapi.params import LANGUAGE_PATTERN, Params, parse_id, read_params
from clientapi.responses import api_response
from outbox.actions import update_profile
from storage.account_lists import (
    account_statuses_query,
    count_follow_requests,
    followers_query,
    following_query,
    set_posting_defaults,
)
from storage.context import Context
from storage.follows import block_of
from storage.models import Account, User
from storage.relationships import relationship_facts
from storage.timelines import ListQuery, search_accounts

VISIBILITIES = ("public", "unlisted", "private", "direct")
MAX_RELATIONSHIP_IDS = 80


def _me(auth: AuthContext) -> tuple[User, Account]:
    assert auth.user is not None and auth.account is not None  # require_auth demands a user token
    return auth.user, auth.account


async def _credential_entity(
    session: AsyncSession, ctx: Context, user: User, account: Account
) -> dict[str, Any]:
    pending = await count_follow_requests(session, account.id)
    return credential_account_to_entity(account, user, ctx, follow_requests_count=pending)


async def verify_credentials(request: Request) -> Response:
    ctx: Context = request.state.ctx
    user, account = _me(await require_auth(request, "read:accounts", "profile"))
    async with ctx.db.read() as session:
        fresh_account = await session.get(Account, account.id)
        fresh_user = await session.get(User, user.id)
        assert fresh_account is not None and fresh_user is not None
        entity = await _credential_entity(session, ctx, fresh_user, fresh_account)
    return api_response(entity)


def _fields(params: Params) -> list[dict[str, Any]] | None:
    if "fields_attributes" not in params:
        return None
    fields = []
    for item in params.get_list("fields_attributes"):
        if not isinstance(item, dict):
            raise Unprocessable(
                "Validation failed: fields_attributes must be a list of {name, value}",
                field="fields_attributes",
            )
        field = Params(item)
        fields.append({"name": field.get_str("name") or "", "value": field.get_str("value") or ""})
    return fields


async def update_credentials(request: Request) -> Response:
    ctx: Context = request.state.ctx
    user, account = _me(await require_auth(request, "write:accounts"))
    params = await read_params(request)
    source = params.nested("source")
    privacy = source.get_str("privacy")
    if privacy is not None and privacy not in VISIBILITIES:
        raise Unprocessable(
            "Validation failed: source[privacy] must be public, unlisted, private or direct",
            field="source[privacy]",
            code=ValidationCode.INCLUSION,
        )
    language = source.get_str("language")
    if language and not LANGUAGE_PATTERN.fullmatch(language):
        raise Unprocessable(
            "Validation failed: source[language] must be an ISO 639 code", field="source[language]"
        )
    await update_profile(
        ctx,
        account,
        display_name=params.get_str("display_name"),
        note=params.get_str("note"),
        locked=params.get_bool("locked"),
        discoverable=params.get_bool("discoverable"),
        fields=_fields(params),
    )
    async with ctx.db.transaction() as session:
        fresh_user = await session.get(User, user.id)
        fresh_account = await session.get(Account, account.id)
        assert fresh_user is not None and fresh_account is not None
        await set_posting_defaults(
            session, fresh_user, visibility=privacy, sensitive=source.get_bool("sensitive"), language=language
        )
        entity = await _credential_entity(session, ctx, fresh_user, fresh_account)
    return api_response(entity)


async def preferences(request: Request) -> Response:
    ctx: Context = request.state.ctx
    user, _ = _me(await require_auth(request, "read:accounts"))
    async with ctx.db.read() as session:
        fresh_user = await session.get(User, user.id)
    assert fresh_user is not None
    return api_response(
        {
            "posting:default:visibility": fresh_user.default_visibility,
            "posting:default:sensitive": fresh_user.default_sensitive,
            "posting:default:language": fresh_user.default_language,
            "reading:expand:media": "default",
            "reading:expand:spoilers": False,
        }
    )


async def show(request: Request) -> Response:
    ctx: Context = request.state.ctx
    await optional_auth(request, "read:accounts")
    async with ctx.db.read() as session:
        account = await account_from_path(session, request)
        moved_to = (
            await session.get(Account, account.moved_to_account_id) if account.moved_to_account_id else None
        )
    return api_response(account_to_entity(account, ctx, moved_to=moved_to))


async def lookup(request: Request) -> Response:
    ctx: Context = request.state.ctx
    await optional_auth(request, "read:accounts")
    params = await read_params(request)
    acct = params.require_str("acct")
    account = await find_account_by_acct(ctx, acct, resolve=True)
    if account is None:
        raise NotFound()
    return api_response(account_to_entity(account, ctx))


async def search(request: Request) -> Response:
    ctx: Context = request.state.ctx
    auth = await require_auth(request, "read:accounts")
    _, me = _me(auth)
    params = await read_params(request)
    text = params.require_str("q").strip()
    limit = params.get_int("limit", 40, minimum=1, maximum=80, clamp=True) or 40
    offset = params.get_int("offset", 0, minimum=0, maximum=MAX_OFFSET) or 0
    following = bool(params.get_bool("following", False))
    accounts: list[Account] = []
    if params.get_bool("resolve", False) and "@" in text.lstrip("@") and offset == 0:
        resolved = await find_account_by_acct(ctx, text, resolve=True)
        accounts = [resolved] if resolved is not None else []
    async with ctx.db.read() as session:
        found = await search_accounts(
            session, text, limit=limit, offset=offset, following_of=me.id if following else None
        )
    seen = {account.id for account in accounts}
    accounts += [account for account in found if account.id not in seen]
    return api_response([account_to_entity(account, ctx) for account in accounts[:limit]])


async def relationships(request: Request) -> Response:
    ctx: Context = request.state.ctx
    _, me = _me(await require_auth(request, "read:follows"))
    params = await read_params(request)
    ids = [parse_id(value) for value in params.get_str_list("id")[:MAX_RELATIONSHIP_IDS]]
    async with ctx.db.read() as session:
        facts = await relationship_facts(session, me.id, ids)
    return api_response(
        [relationship_to_entity(target_id, facts[target_id]) for target_id in dict.fromkeys(ids)]
    )


async def statuses(request: Request) -> Response:
    ctx: Context = request.state.ctx
    viewer = viewer_account(await optional_auth(request, "read:statuses"))
    viewer_id = viewer.id if viewer else None
    params = await read_params(request)
    page = Page.from_params(params)
    async with ctx.db.read() as session:
        account = await account_from_path(session, request)
        if account.suspended_at is not None or (
            viewer_id is not None and await block_of(session, account.id, viewer_id) is not None
        ):
            return api_response([])  # Mastodon shows nothing of an author who blocks you
        query = account_statuses_query(
            account.id,
            viewer_id,
            exclude_replies=bool(params.get_bool("exclude_replies", False)),
            exclude_reblogs=bool(params.get_bool("exclude_reblogs", False)),
            only_media=bool(params.get_bool("only_media", False)),
            pinned=bool(params.get_bool("pinned", False)),
        )
        rows = in_display_order((await session.execute(page_statement(query, page))).all(), page)
        entities = await statuses_to_entities(
            session, ctx, [status for _, status in rows], viewer_id, context="account"
        )
    return api_response(entities, headers=link_headers(request, [page_id for page_id, _ in rows]))


async def account_page(
    request: Request,
    query: ListQuery,
    *,
    max_limit: int = 80,
    extra_fields: Callable[[Any], dict[str, Any]] | None = None,
) -> Response:
    """A page of accounts from a (paging id, Account, ...) query, with its Link header; `extra_fields` adds
    to each entity what the row's further columns say (a mute's end on a MutedAccount)."""
    ctx: Context = request.state.ctx
    page = Page.from_params(await read_params(request), default_limit=40, max_limit=max_limit)
    async with ctx.db.read() as session:
        rows = in_display_order((await session.execute(page_statement(query, page))).all(), page)
    entities = [account_to_entity(row[1], ctx) | (extra_fields(row) if extra_fields else {}) for row in rows]
    return api_response(entities, headers=link_headers(request, [row[0] for row in rows]))


async def followers(request: Request) -> Response:
    ctx: Context = request.state.ctx
    await optional_auth(request, "read:accounts")
    async with ctx.db.read() as session:
        account = await account_from_path(session, request)
    return await account_page(request, followers_query(account.id))


async def following(request: Request) -> Response:
    ctx: Context = request.state.ctx
    await optional_auth(request, "read:accounts")
    async with ctx.db.read() as session:
        account = await account_from_path(session, request)
    return await account_page(request, following_query(account.id))


routes = [
    Route("/api/v1/accounts/verify_credentials", verify_credentials, methods=["GET"]),
    Route("/api/v1/accounts/update_credentials", update_credentials, methods=["PATCH"]),
    Route("/api/v1/accounts/lookup", lookup, methods=["GET"]),
    Route("/api/v1/accounts/search", search, methods=["GET"]),
    Route("/api/v1/accounts/relationships", relationships, methods=["GET"]),
    Route("/api/v1/preferences", preferences, methods=["GET"]),
    Route("/api/v1/accounts/{id}", show, methods=["GET"]),
    Route("/api/v1/accounts/{id}/statuses", statuses, methods=["GET"]),
    Route("/api/v1/accounts/{id}/followers", followers, methods=["GET"]),
    Route("/api/v1/accounts/{id}/following", following, methods=["GET"]),
]
