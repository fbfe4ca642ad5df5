"""Fixtures for outbox tests: a Context on each database backend, local and remote accounts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from apub.client import FederationClient
from apub.httpsig import SchemeMemory
from storage.accounts import create_local_account
from storage.context import Context
from storage.db import Database
from storage.models import Account
from storage.urls import LocalUrls
from support.instance import make_settings

BASE_URL = "https://plein.example"


@pytest.fixture
async def ctx(db: Database, tmp_path: Path) -> AsyncIterator[Context]:
    settings = make_settings(
        tmp_path,
        **{"instance.domain": "plein.example", "instance.base_url": BASE_URL, "database.url": db.url},
    )
    yield Context(settings=settings, db=db)


LocalMaker = Callable[..., Awaitable[Account]]


@pytest.fixture
def make_local(ctx: Context) -> LocalMaker:
    async def make(username: str, *, locked: bool = False) -> Account:
        async with ctx.db.transaction() as session:
            account = await create_local_account(
                session, LocalUrls(ctx.base_url), username=username, password_hash="x"
            )
            account.locked = locked
        return account

    return make


@pytest.fixture
def make_remote(ctx: Context) -> LocalMaker:
    async def make(username: str, host: str, *, shared_inbox: bool = True) -> Account:
        uri = f"https://{host}/users/{username}"
        async with ctx.db.transaction() as session:
            account = Account(
                username=username,
                domain=host,
                uri=uri,
                url=f"https://{host}/@{username}",
                inbox_url=f"{uri}/inbox",
                shared_inbox_url=f"https://{host}/inbox" if shared_inbox else None,
                followers_url=f"{uri}/followers",
                public_key_id=f"{uri}#main-key",
            )
            session.add(account)
        return account

    return make


@pytest.fixture
async def http_ctx(ctx: Context) -> AsyncIterator[Context]:
    """`ctx` with a federation client allowed to reach loopback servers."""
    ctx.http = FederationClient(allow_private_addresses=["127.0.0.0/8"], total_timeout=10)
    ctx.scheme_memory = SchemeMemory()
    try:
        yield ctx
    finally:
        await ctx.http.aclose()
