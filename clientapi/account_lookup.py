"""Finding the account an API request names: by id in the path, or by `user@domain` (through WebFinger
when it is not known yet)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from clientapi.errors import NotFound
from storage.ids import parse_id
from storage.models import Account
from webfinger.resolve import find_account_by_acct


async def account_from_path(session: AsyncSession, request: Request, name: str = "id") -> Account:
    """The account whose id is the path parameter `name`; 404 when it is not a number or not known."""
    account_id = parse_id(request.path_params.get(name))
    if account_id is None:
        raise NotFound()
    account = await session.get(Account, account_id)
    if account is None:
        raise NotFound()
    return account


__all__ = ["account_from_path", "find_account_by_acct"]
