"""Lists: the caller's lists (CRUD), their members, the lists holding an account, and a list's timeline.

As in Mastodon: a list is its owner's alone (another's is a 404), only followed accounts may be added,
`replies_policy` is `followed`, `list` (the default) or `none`, and an `exclusive` list keeps its members'
posts out of home. The timeline reads the list's fan-out rows (`storage.lists`) like home reads its own.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, func, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clientapi.account_lookup import account_from_path
from clientapi.accounts import account_page
from clientapi.auth import require_auth
from clientapi.errors import NotFound, Unprocessable, ValidationCode
from clientapi.params import Params, parse_id, read_params
from clientapi.responses import api_response
from clientapi.timelines import page_response
from storage.context import Context
from storage.ids import parse_id as path_id
from storage.lists import (
    REPLIES_POLICIES,
    add_members,
    lists_of,
    owned_list,
    remove_members,
    unfollowed_among,
)
from storage.models import Account, List, ListAccount
from storage.timelines import list_members_query, list_timeline_query

MAX_LISTS = 50  # Mastodon's List::PER_ACCOUNT_LIMIT
MAX_TITLE_LENGTH = 256
MAX_ACCOUNT_IDS = 80


def list_to_entity(account_list: List) -> dict[str, Any]:
    """The Mastodon List entity."""
    return {
        "id": str(account_list.id),
        "title": account_list.title,
        "replies_policy": account_list.replies_policy,
        "exclusive": account_list.exclusive,
    }


async def _caller_id(request: Request, scope: str) -> int:
    auth = await require_auth(request, scope)
    assert auth.account is not None  # require_auth demands a user token
    return auth.account.id


def _list_id(request: Request) -> int:
    list_id = path_id(request.path_params.get("id"))
    if list_id is None:
        raise NotFound()
    return list_id


def _settings(params: Params, *, creating: bool) -> dict[str, Any]:
    """The list's title, replies policy and exclusivity from the request (on update, only those given)."""
    settings: dict[str, Any] = {}
    if creating or "title" in params:
        title = (params.get_str("title", max_length=MAX_TITLE_LENGTH) or "").strip()
        if not title:
            raise Unprocessable(
                "Validation failed: Title can't be blank", field="title", code=ValidationCode.BLANK
            )
        settings["title"] = title
    if "replies_policy" in params:
        replies_policy = params.get_str("replies_policy")
        if replies_policy not in REPLIES_POLICIES:
            raise Unprocessable(
                f"Validation failed: replies_policy must be one of {', '.join(REPLIES_POLICIES)}",
                field="replies_policy",
                code=ValidationCode.INCLUSION,
            )
        settings["replies_policy"] = replies_policy
    if "exclusive" in params:
        settings["exclusive"] = bool(params.get_bool("exclusive"))
    return settings


async def index(request: Request) -> Response:
    ctx: Context = request.state.ctx
    owner_id = await _caller_id(request, "read:lists")
    async with ctx.db.read() as session:
        return api_response([list_to_entity(one) for one in await lists_of(session, owner_id)])


async def create(request: Request) -> Response:
    ctx: Context = request.state.ctx
    owner_id = await _caller_id(request, "write:lists")
    settings = _settings(await read_params(request), creating=True)
    async with ctx.db.transaction() as session:
        count = await session.scalar(
            select(func.count()).select_from(List).where(List.account_id == owner_id)
        )
        if (count or 0) >= MAX_LISTS:
            raise Unprocessable(
                f"Validation failed: You cannot have more than {MAX_LISTS} lists", field="base"
            )
        account_list = List(account_id=owner_id, **settings)
        session.add(account_list)
        await session.flush()
        return api_response(list_to_entity(account_list))


async def _own(session: Any, request: Request, owner_id: int) -> List:
    account_list = await owned_list(session, owner_id, _list_id(request))
    if account_list is None:
        raise NotFound()
    return account_list


async def show(request: Request) -> Response:
    ctx: Context = request.state.ctx
    owner_id = await _caller_id(request, "read:lists")
    async with ctx.db.read() as session:
        return api_response(list_to_entity(await _own(session, request, owner_id)))


async def update(request: Request) -> Response:
    ctx: Context = request.state.ctx
    owner_id = await _caller_id(request, "write:lists")
    settings = _settings(await read_params(request), creating=False)
    async with ctx.db.transaction() as session:
        account_list = await _own(session, request, owner_id)
        for name, value in settings.items():
            setattr(account_list, name, value)
        await session.flush()
        return api_response(list_to_entity(account_list))


async def destroy(request: Request) -> Response:
    ctx: Context = request.state.ctx
    owner_id = await _caller_id(request, "write:lists")
    async with ctx.db.transaction() as session:
        await session.delete(await _own(session, request, owner_id))  # members and feed rows cascade
    return api_response({})


async def members(request: Request) -> Response:
    ctx: Context = request.state.ctx
    owner_id = await _caller_id(request, "read:lists")
    async with ctx.db.read() as session:
        account_list = await _own(session, request, owner_id)
    return await account_page(request, list_members_query(account_list.id))


def _account_ids(params: Params) -> list[int]:
    raw = params.get_list("account_ids")
    if not raw:
        raise Unprocessable(
            "Validation failed: account_ids is missing", field="account_ids", code=ValidationCode.BLANK
        )
    if len(raw) > MAX_ACCOUNT_IDS:
        raise Unprocessable(
            f"Validation failed: at most {MAX_ACCOUNT_IDS} account_ids",
            field="account_ids",
            code=ValidationCode.TOO_LONG,
        )
    return list(dict.fromkeys(parse_id(value, "account_ids") for value in raw))


async def add_accounts(request: Request) -> Response:
    ctx: Context = request.state.ctx
    owner_id = await _caller_id(request, "write:lists")
    account_ids = _account_ids(await read_params(request))
    async with ctx.db.transaction() as session:
        account_list = await _own(session, request, owner_id)
        known = set((await session.execute(select(Account.id).where(Account.id.in_(account_ids)))).scalars())
        if len(known) < len(account_ids):
            raise NotFound()
        if await unfollowed_among(session, owner_id, account_ids):
            raise Unprocessable("Validation failed: Account has not been followed", field="account_ids")
        already = await session.scalar(
            select(
                exists().where(
                    ListAccount.list_id == account_list.id, ListAccount.account_id.in_(account_ids)
                )
            )
        )
        if already:
            raise Unprocessable(
                "Validation failed: Account has already been taken",
                field="account_ids",
                code=ValidationCode.TAKEN,
            )
        await add_members(session, account_list.id, account_ids)
    return api_response({})


async def remove_accounts(request: Request) -> Response:
    ctx: Context = request.state.ctx
    owner_id = await _caller_id(request, "write:lists")
    account_ids = _account_ids(await read_params(request))
    async with ctx.db.transaction() as session:
        account_list = await _own(session, request, owner_id)
        await remove_members(session, account_list.id, account_ids)
    return api_response({})


async def account_lists(request: Request) -> Response:
    """The caller's lists holding the account in the path (`GET /api/v1/accounts/:id/lists`)."""
    ctx: Context = request.state.ctx
    owner_id = await _caller_id(request, "read:lists")
    async with ctx.db.read() as session:
        member = await account_from_path(session, request)
        found = await lists_of(session, owner_id, member_id=member.id)
    return api_response([list_to_entity(one) for one in found])


async def timeline(request: Request) -> Response:
    ctx: Context = request.state.ctx
    owner_id = await _caller_id(request, "read:lists")
    async with ctx.db.read() as session:
        account_list = await _own(session, request, owner_id)
    return await page_response(request, list_timeline_query(account_list.id), owner_id, context="home")


routes = [
    Route("/api/v1/lists", index, methods=["GET"]),
    Route("/api/v1/lists", create, methods=["POST"]),
    Route("/api/v1/lists/{id}", show, methods=["GET"]),
    Route("/api/v1/lists/{id}", update, methods=["PUT"]),
    Route("/api/v1/lists/{id}", destroy, methods=["DELETE"]),
    Route("/api/v1/lists/{id}/accounts", members, methods=["GET"]),
    Route("/api/v1/lists/{id}/accounts", add_accounts, methods=["POST"]),
    Route("/api/v1/lists/{id}/accounts", remove_accounts, methods=["DELETE"]),
    Route("/api/v1/accounts/{id}/lists", account_lists, methods=["GET"]),
    Route("/api/v1/timelines/list/{id}", timeline, methods=["GET"]),
]
