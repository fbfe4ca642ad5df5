"""Staff for the admin and moderation tests: a local user with a role (`user`, `moderator`, `admin`), a
token of one for the admin API, and an instance served with one of each signed in on the web as a browser."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from sqlalchemy import update

from storage.models import Account, User
from storage.settings import Settings
from support.instance import RunningInstance, serve_in_process
from support.oauth import bearer, make_token, make_user
from support.web import PASSWORD, web_login

ADMIN_SCOPES = "read write admin:read admin:write"
ENGLISH = {"Accept-Language": "en"}  # the pages' texts the tests look for are the English ones
# The web admin tests' cast: a user, an admin and a moderator, each with the password PASSWORD.
ROLES_BY_NAME = {"alice": "user", "beheer": "admin", "moder": "moderator"}


async def make_staff(instance: RunningInstance, username: str, role: str = "user") -> Account:
    """A local user `username` (created when missing, password PASSWORD) whose role is `role`."""
    assert instance.ctx is not None
    account = await make_user(instance.ctx, username, PASSWORD)
    async with instance.ctx.db.transaction() as session:
        await session.execute(update(User).where(User.account_id == account.id).values(role=role))
    return account


async def role_bearer(
    instance: RunningInstance, username: str, *, role: str, scopes: str = ADMIN_SCOPES
) -> dict[str, str]:
    """The Authorization header of a token with `scopes` of `username` (created when missing) made `role`."""
    assert instance.ctx is not None
    token = await make_token(instance.ctx, username, scopes=scopes)
    await make_staff(instance, username, role)
    return bearer(token)


@asynccontextmanager
async def serve_with_staff(settings: Settings) -> AsyncIterator[RunningInstance]:
    """An in-process instance with the users of ROLES_BY_NAME."""
    async with serve_in_process(settings) as running:
        for username, role in ROLES_BY_NAME.items():
            await make_staff(running, username, role)
        yield running


@asynccontextmanager
async def signed_in(instance: RunningInstance, username: str) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client of the instance, signed in on the web as `username` (password PASSWORD)."""
    async with instance.client(headers=ENGLISH) as client:
        await web_login(client, username, PASSWORD)
        yield client
