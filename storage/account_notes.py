"""Private notes a local account keeps about other accounts (Relationship `note`): local only, never shown
to anyone but their writer."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AccountNote

MAX_NOTE_LENGTH = 2000  # Mastodon's AccountNote limit


async def set_note(session: AsyncSession, account_id: int, target_id: int, comment: str) -> None:
    """Keep `comment` as `account_id`'s note on `target_id`; an empty comment removes the note."""
    if not comment:
        await session.execute(
            delete(AccountNote).where(
                AccountNote.account_id == account_id, AccountNote.target_account_id == target_id
            )
        )
        return
    row = await session.scalar(
        select(AccountNote).where(
            AccountNote.account_id == account_id, AccountNote.target_account_id == target_id
        )
    )
    if row is None:
        session.add(AccountNote(account_id=account_id, target_account_id=target_id, comment=comment))
    else:
        row.comment = comment
    await session.flush()


async def notes_on(session: AsyncSession, account_id: int, target_ids: Iterable[int]) -> dict[int, str]:
    """`account_id`'s notes on each of `target_ids` that has one, by target id."""
    targets = list(target_ids)
    if not targets:
        return {}
    rows = await session.execute(
        select(AccountNote.target_account_id, AccountNote.comment).where(
            AccountNote.account_id == account_id, AccountNote.target_account_id.in_(targets)
        )
    )
    return {target: comment for target, comment in rows}
