"""Deleting a local account for good (a data-subject request, or a person leaving): one transaction.

As Mastodon: the actor's `Delete` goes to every server this one knows (not only followers' — any of them may
hold its posts through boosts and replies), signed with the account's key, which stays for those deliveries;
then what it left is erased as for a remote actor's `Delete` (`storage.account_removal`), its media leave the
public folder, its login, e-mail address, tokens and push subscriptions are deleted, its profile wiped, and
the account row stays as a marked gone tombstone (its actor URL answers 410, its username is never given
out again, so nobody can take over its followers' trust).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from apub.builders import build_activity
from apub.hosts import delivery_inbox
from apub.vocab import PUBLIC
from outbox.actions._unit import Effects, after_commit, record_activity
from outbox.addressing import PRIORITY_FOLLOWERS, DeliveryTargets
from outbox.errors import NotFound, Unprocessable
from storage.account_removal import erase_account
from storage.accounts import local_account_by_username, user_for_account
from storage.audit import add_audit_entry
from storage.context import Context
from storage.media_lifecycle import queue_withdrawal
from storage.models import Account, Block, Bookmark, List, ListAccount, Mute
from storage.oauth import AUTHORITY_CHANGED


@dataclass(frozen=True)
class AccountDeletion:
    account_id: int
    statuses: int  # tombstoned
    servers: int  # inboxes the `Delete` was queued for


async def _every_known_inbox(session: AsyncSession) -> DeliveryTargets:
    """One inbox per known remote server (shared inboxes where the origin rule allows them)."""
    targets = DeliveryTargets()
    rows = await session.execute(
        select(Account.uri, Account.inbox_url, Account.shared_inbox_url).where(
            Account.domain.is_not(None), Account.gone_at.is_(None)
        )
    )
    for uri, inbox, shared_inbox in rows:
        targets.add(delivery_inbox(uri, inbox, shared_inbox), PRIORITY_FOLLOWERS)
    return targets


async def delete_local_account(ctx: Context, username: str, *, actor: str) -> AccountDeletion:
    """`actor` is who asked (the audit log keeps it)."""
    effects = Effects()
    async with ctx.db.transaction() as session:
        account = await local_account_by_username(session, username)
        if account is None or account.gone_at is not None:
            raise NotFound(f"no local account {username!r}")
        if account.actor_type != "Person":
            raise Unprocessable("only a person's account can be deleted this way")
        targets = await _every_known_inbox(session)
        await record_activity(
            session,
            effects,
            ctx=ctx,
            actor=account,
            activity_type="Delete",
            build=lambda uri: build_activity("Delete", uri, account.uri, account.uri, to=[PUBLIC]),
            targets=targets,
        )
        statuses = await erase_account(session, account)
        for status in statuses:
            await queue_withdrawal(session, status.id)
        await session.execute(
            delete(Block).where(or_(Block.account_id == account.id, Block.target_account_id == account.id))
        )
        await session.execute(
            delete(Mute).where(or_(Mute.account_id == account.id, Mute.target_account_id == account.id))
        )
        await session.execute(delete(Bookmark).where(Bookmark.account_id == account.id))
        await session.execute(delete(List).where(List.account_id == account.id))  # members and feeds follow
        await session.execute(delete(ListAccount).where(ListAccount.account_id == account.id))
        user = await user_for_account(session, account.id)
        if user is not None:
            await session.delete(user)  # login, e-mail, tokens and push subscriptions go with it
        account.display_name = account.note = account.note_source = ""
        account.fields = []
        account.also_known_as = []
        account.avatar_url = account.header_url = None
        account.discoverable = account.indexable = False
        account.statuses_count = 0
        await add_audit_entry(
            session,
            actor=actor,
            action="account.delete",
            target=account.uri,
            details={"statuses": len(statuses), "servers": len(targets)},
        )
    effects.events.append(AUTHORITY_CHANGED)  # its streams end now
    after_commit(ctx, effects)
    return AccountDeletion(account.id, len(statuses), len(targets))
