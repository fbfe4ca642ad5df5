"""Accounts: the caller's own (`verify_credentials`, `preferences`; changes are in `clientapi.profile`) and
anyone's (`GET :id`, `GET ?id[]=`, `lookup`, `search`, `:id/statuses`, `:id/followers`, `:id/following`,
`relationships`, `familiar_followers`)."""

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
from clientapi.errors import NotFound
from clientapi.pagination import MAX_OFFSET, Page, in_display_order, link_headers, page_statement
from clientapi.params import parse_id, parse_id_list, read_params
from clientapi.responses import api_response
from storage.account_lists import (
    account_statuses_query,
    accounts_by_ids,
    count_follow_requests,
    followers_query,
    following_query,
)
from storage.account_lists import (
    familiar_followers as familiar_followers_of,
)
from storage.context import Context
from storage.follows import block_of
from storage.models import Account, User
from storage.relationships import relationship_facts
from storage.timelines import ListQuery, search_accounts

MAX_RELATIONSHIP_IDS = 80
MAX_MULTI_GET = 40  # Mastodon's DEFAULT_ACCOUNTS_LIMIT (multi-get; familiar followers reads that many)


def caller(auth: AuthContext) -> tuple[User, Account]:
    assert auth.user is not None and auth.account is not None  # require_auth demands a user token
    return auth.user, auth.account


async def credential_entity(
    session: AsyncSession, ctx: Context, user: User, account: Account
) -> dict[str, Any]:
    pending = await count_follow_requests(session, account.id)
    return credential_account_to_entity(account, user, ctx, follow_requests_count=pending)


async def verify_credentials(request: Request) -> Response:
    ctx: Context = request.state.ctx
    user, account = caller(await require_auth(request, "read:accounts", "profile"))
    async with ctx.db.read() as session:
        fresh_account = await session.get(Account, account.id)
        fresh_user = await session.get(User, user.id)
        assert fresh_account is not None and fresh_user is not None
        entity = await credential_entity(session, ctx, fresh_user, fresh_account)
    return api_response(entity)


async def preferences(request: Request) -> Response:
    ctx: Context = request.state.ctx
    user, _ = caller(await require_auth(request, "read:accounts"))
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


async def show_many(request: Request) -> Response:
    """`GET /api/v1/accounts?id[]=`: several accounts at once, in the order asked (unknown ids left out)."""
    ctx: Context = request.state.ctx
    await optional_auth(request, "read:accounts")
    ids = parse_id_list(await read_params(request), "id", limit=MAX_MULTI_GET)
    async with ctx.db.read() as session:
        accounts = await accounts_by_ids(session, ids)
    return api_response([account_to_entity(account, ctx) for account in accounts])


async def familiar_followers(request: Request) -> Response:
    """For each account asked, the accounts the caller follows that follow it."""
    ctx: Context = request.state.ctx
    _, me = caller(await require_auth(request, "read:follows"))
    params = await read_params(request)
    ids = list(dict.fromkeys(parse_id(value) for value in params.get_str_list("id")[:MAX_MULTI_GET]))
    async with ctx.db.read() as session:
        # Mastodon answers only for accounts that exist and are not suspended.
        targets = [
            account.id for account in await accounts_by_ids(session, ids) if account.suspended_at is None
        ]
        familiar = await familiar_followers_of(session, me.id, targets)
    return api_response(
        [
            {"id": str(target), "accounts": [account_to_entity(account, ctx) for account in familiar[target]]}
            for target in targets
        ]
    )


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
    _, me = caller(auth)
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
    _, me = caller(await require_auth(request, "read:follows"))
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


async def public_account_page(request: Request, query_of: Callable[[int], ListQuery]) -> Response:
    """A page of the accounts `query_of` lists about the account in the path (readable without a token)."""
    ctx: Context = request.state.ctx
    await optional_auth(request, "read:accounts")
    async with ctx.db.read() as session:
        account = await account_from_path(session, request)
    return await account_page(request, query_of(account.id))


async def own_account_page(request: Request, scope: str, query_of: Callable[[int], ListQuery]) -> Response:
    """A page of the accounts `query_of` lists about the caller (a user token with `scope`)."""
    auth = await require_auth(request, scope)
    assert auth.account is not None
    return await account_page(request, query_of(auth.account.id))


async def followers(request: Request) -> Response:
    return await public_account_page(request, followers_query)


async def following(request: Request) -> Response:
    return await public_account_page(request, following_query)


routes = [
    Route("/api/v1/accounts/verify_credentials", verify_credentials, methods=["GET"]),
    Route("/api/v1/accounts/lookup", lookup, methods=["GET"]),
    Route("/api/v1/accounts/search", search, methods=["GET"]),
    Route("/api/v1/accounts/relationships", relationships, methods=["GET"]),
    Route("/api/v1/accounts/familiar_followers", familiar_followers, methods=["GET"]),
    Route("/api/v1/accounts", show_many, methods=["GET"]),
    Route("/api/v1/preferences", preferences, methods=["GET"]),
    Route("/api/v1/accounts/{id}", show, methods=["GET"]),
    Route("/api/v1/accounts/{id}/statuses", statuses, methods=["GET"]),
    Route("/api/v1/accounts/{id}/followers", followers, methods=["GET"]),
    Route("/api/v1/accounts/{id}/following", following, methods=["GET"]),
]
