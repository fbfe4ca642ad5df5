"""`GET /api/v2/search`: accounts, statuses and hashtags.

With `resolve=true` (and a user token) a `user@domain` address — with or without a leading `@` — is looked up
through WebFinger and stored, so it can be followed next; an `https://` URL of a status or an actor is fetched
and stored. Otherwise only what is stored here is searched, by text.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from sqlalchemy import or_, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clientapi.account_lookup import find_account_by_acct
from clientapi.auth import optional_auth, viewer_account
from clientapi.entities.accounts import account_to_entity
from clientapi.entities.statuses import statuses_to_entities
from clientapi.entities.tags import tags_to_entities
from clientapi.errors import Unauthorized, Unprocessable, ValidationCode
from clientapi.pagination import MAX_OFFSET
from clientapi.params import read_params
from clientapi.responses import api_response
from storage.context import Context
from storage.models import Account, Status
from storage.statuses import can_see
from storage.timelines import search_accounts, search_statuses, search_tags
from storage.urls import LocalUrls
from webfinger.resolve import ResolveError, resolve_actor, resolve_status

logger = logging.getLogger(__name__)

ACCT_PATTERN = re.compile(r"^@?([a-z0-9_.-]+)@([a-z0-9.-]+(?::\d+)?)$", re.IGNORECASE)
SEARCH_TYPES = ("accounts", "statuses", "hashtags")


async def _resolve_url(
    ctx: Context, url: str, viewer_id: int | None, resolve: bool
) -> tuple[list[Account], list[Status]]:
    """The stored account or status at `url`; fetched from its origin first when `resolve` and unknown."""
    async with ctx.db.read() as session:
        account = (
            await session.execute(select(Account).where(or_(Account.uri == url, Account.url == url)).limit(1))
        ).scalar_one_or_none()
        if account is not None:
            return [account], []
        status = (
            await session.execute(select(Status).where(or_(Status.uri == url, Status.url == url)).limit(1))
        ).scalar_one_or_none()
        if status is not None:
            return [], [status] if await can_see(session, viewer_id, status) else []
    if not resolve or LocalUrls(ctx.base_url).is_local(url):
        return [], []
    try:
        return [], [await resolve_status(ctx, url)]
    except ResolveError as status_error:
        try:
            return [await resolve_actor(ctx, url)], []
        except ResolveError as actor_error:
            logger.info("search could not resolve %s: %s; %s", url, status_error, actor_error)
            return [], []


async def search(request: Request) -> Response:
    auth = await optional_auth(request, "read:search")
    viewer = viewer_account(auth)
    viewer_id = viewer.id if viewer else None
    ctx: Context = request.state.ctx
    params = await read_params(request)
    query = (params.get_str("q") or "").strip()
    wanted = params.get_str("type")
    if wanted is not None and wanted not in SEARCH_TYPES:
        raise Unprocessable(
            "Validation failed: type must be accounts, statuses or hashtags",
            field="type",
            code=ValidationCode.INCLUSION,
        )
    resolve = bool(params.get_bool("resolve", False))
    limit = params.get_int("limit", 20, minimum=1, maximum=40, clamp=True) or 20
    offset = params.get_int("offset", 0, minimum=0, maximum=MAX_OFFSET) or 0
    if (resolve or offset) and viewer is None:
        raise Unauthorized("Search with resolve or offset requires a user token")
    following_of = viewer_id if params.get_bool("following", False) else None
    accounts: list[Account] = []
    statuses: list[Status] = []
    hashtags: list[Any] = []
    address = ACCT_PATTERN.match(query)
    if query.startswith(("https://", "http://")):
        accounts, statuses = await _resolve_url(ctx, query, viewer_id, resolve)
    elif address is not None and wanted in (None, "accounts"):
        found = await find_account_by_acct(
            ctx, f"{address.group(1)}@{address.group(2)}", resolve=resolve and not offset
        )
        accounts = [found] if found is not None and found.suspended_at is None else []
    elif query:
        async with ctx.db.read() as session:
            if wanted in (None, "accounts"):
                accounts = await search_accounts(
                    session, query, limit=limit, offset=offset, following_of=following_of
                )
            if wanted in (None, "statuses"):
                statuses = await search_statuses(session, query, viewer_id, limit=limit, offset=offset)
            if wanted in (None, "hashtags"):
                hashtags = await search_tags(session, query, limit=limit, offset=offset)
    async with ctx.db.read() as session:
        rendered_statuses = (
            await statuses_to_entities(session, ctx, statuses, viewer_id)
            if wanted in (None, "statuses")
            else []
        )
        rendered_tags = await tags_to_entities(session, ctx, hashtags, viewer_id)
    return api_response(
        {
            "accounts": [account_to_entity(account, ctx) for account in accounts]
            if wanted in (None, "accounts")
            else [],
            "statuses": rendered_statuses,
            "hashtags": rendered_tags,
            "collections": [],
        }
    )


routes = [Route("/api/v2/search", search, methods=["GET"])]
