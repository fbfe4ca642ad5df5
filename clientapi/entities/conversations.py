"""The Conversation entity (a direct-message conversation as its owner sees it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from clientapi.entities.accounts import account_to_entity
from clientapi.entities.statuses import statuses_to_entities
from storage.context import Context
from storage.models import Account, AccountConversation, Status


async def conversations_to_entities(
    session: AsyncSession, ctx: Context, rows: Sequence[AccountConversation], owner: Account
) -> list[dict[str, Any]]:
    """Conversation entities, in the rows' order: the other participants (the owner alone when it wrote
    only to itself, as Mastodon shows it), suspended ones left out, and the last status as the owner sees
    it."""
    account_ids = {account_id for row in rows for account_id in row.participant_ids}
    accounts = {
        account.id: account
        for account in (
            await session.execute(
                select(Account).where(Account.id.in_(account_ids), Account.suspended_at.is_(None))
            )
        ).scalars()
    }
    statuses = (
        await session.execute(select(Status).where(Status.id.in_({row.last_status_id for row in rows})))
    ).scalars()
    rendered = {
        int(entity["id"]): entity
        for entity in await statuses_to_entities(session, ctx, list(statuses), owner.id)
    }
    entities = []
    for row in rows:
        participants = [accounts[i] for i in row.participant_ids if i in accounts] or [owner]
        entities.append(
            {
                "id": str(row.id),
                "unread": row.unread,
                "accounts": [account_to_entity(account, ctx) for account in participants],
                "last_status": rendered.get(row.last_status_id),
            }
        )
    return entities
