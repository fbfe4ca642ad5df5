"""Stored remote accounts for client API tests that need some without a remote server behind them."""

from __future__ import annotations

from typing import Any

from storage.context import Context
from storage.models import Account


async def stored_remote_account(ctx: Context, username: str, domain: str, **columns: Any) -> Account:
    """A remote account row as resolving `username@domain` would have stored it (other `columns` as given)."""
    async with ctx.db.transaction() as session:
        account = Account(
            username=username,
            domain=domain,
            uri=f"https://{domain}/users/{username}",
            inbox_url=f"https://{domain}/users/{username}/inbox",
            **columns,
        )
        session.add(account)
        await session.flush()
        return account
