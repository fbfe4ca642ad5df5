"""Finding the account an API request names: by id in the path, or by `user@domain` (through WebFinger
when it is not known yet)."""

from __future__ import annotations

import logging
import re

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from clientapi.errors import NotFound
from storage.accounts import account_by_acct
from storage.context import Context
from storage.ids import parse_id
from storage.models import Account
from storage.urls import LocalUrls
from webfinger.resolve import ResolveError, resolve_acct

logger = logging.getLogger(__name__)

ACCT_PATTERN = re.compile(r"^@?([a-z0-9_.-]+)(?:@([a-z0-9.-]+(?::\d+)?))?$", re.IGNORECASE)


async def account_from_path(session: AsyncSession, request: Request, name: str = "id") -> Account:
    """The account whose id is the path parameter `name`; 404 when it is not a number or not known."""
    account_id = parse_id(request.path_params.get(name))
    if account_id is None:
        raise NotFound()
    account = await session.get(Account, account_id)
    if account is None:
        raise NotFound()
    return account


async def find_account_by_acct(ctx: Context, acct: str, *, resolve: bool) -> Account | None:
    """The account `user` or `user@domain` (a leading `@` allowed; our own domain means local). An unknown
    remote address is looked up through WebFinger when `resolve`; None when not found."""
    match = ACCT_PATTERN.match(acct.strip())
    if match is None:
        return None
    username, domain = match.group(1), match.group(2)
    local = domain is None or LocalUrls(ctx.base_url).is_local_host(domain)
    async with ctx.db.read() as session:
        account = await account_by_acct(session, username, None if local else domain)
    if account is not None or local or not resolve:
        return account
    # Our own scheme: test and development instances talk plain http to each other on loopback.
    scheme = ctx.base_url.split(":", 1)[0]
    try:
        return await resolve_acct(ctx, f"{username}@{domain}", scheme=scheme)
    except ResolveError as error:
        logger.info("could not resolve %s@%s: %s", username, domain, error)
        return None
