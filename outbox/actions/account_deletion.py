"""Deleting a local account for good (a data-subject request, or a person leaving): one transaction.

A person asking for it themselves (`POST /api/v1/accounts/delete`) gets a grace period first
(`request_account_deletion`): the account is disabled at once — suspended, so its tokens are revoked, its
logins refused, its posts out of every feed and its profile hidden — and a job of the `accounts` queue,
written in the same transaction, deletes it at `accounts.deletion_grace_days` later
(`delete_account_when_due`). Until then an admin can call it off (`cancel_account_deletion`, `plein account
cancel-deletion`), and `plein account delete --yes` deletes it at once.

As Mastodon: the actor's `Delete` goes to every server this one knows (not only followers' — any of them may
hold its posts through boosts and replies), signed with the account's key, which stays for those deliveries;
then what it left is erased as for a remote actor's `Delete` (`storage.account_removal`), its media leave the
public folder, its login, e-mail address, tokens and push subscriptions are deleted, its profile wiped, and
the account row stays as a marked gone tombstone (its actor URL answers 410, its username is never given
out again, so nobody can take over its followers' trust).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_

from apub.builders import build_activity
from apub.vocab import PUBLIC
from outbox.actions._unit import Effects, after_commit, record_activity
from outbox.actions.profile import send_actor_update
from outbox.addressing import DeliveryTargets
from outbox.errors import NotFound, Unprocessable
from storage.account_removal import erase_account
from storage.accounts import is_account_actor, local_account_by_username, user_for_account
from storage.audit import add_audit_entry
from storage.context import Context
from storage.fanout import restore_author_to_home_feeds
from storage.follows import remove_author_from_home_feed
from storage.known_inboxes import count_known_servers
from storage.media_lifecycle import queue_withdrawal
from storage.models import Account, Block, Bookmark, List, ListAccount, Mute
from storage.oauth import AUTHORITY_CHANGED, revoke_user_tokens
from storage.queue import enqueue
from storage.types import utcnow

ACCOUNTS_QUEUE = "accounts"


@dataclass(frozen=True)
class AccountDeletion:
    account_id: int
    statuses: int  # tombstoned
    servers: int  # remote servers known when the `Delete` was queued (its `fan_out` job reaches each)


async def delete_local_account(ctx: Context, username: str, *, actor: str) -> AccountDeletion:
    """`actor` is who asked (the audit log keeps it)."""
    effects = Effects()
    async with ctx.db.transaction() as session:
        account = await local_account_by_username(session, username)
        if account is None or account.gone_at is not None:
            raise NotFound(f"no local account {username!r}")
        if not is_account_actor(account):
            raise Unprocessable("only a person's account can be deleted this way")
        # Every known server's inbox, expanded after the commit by one `fan_out` job (outbox.fan_out): an
        # instance knowing many servers would otherwise write a delivery row for each in this transaction.
        targets = DeliveryTargets()
        targets.add_known_servers()
        servers = await count_known_servers(session)
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
        account.deletion_due_at = None
        await add_audit_entry(
            session,
            actor=actor,
            action="account.delete",
            target=account.uri,
            details={"statuses": len(statuses), "servers": servers},
        )
    effects.events.append(AUTHORITY_CHANGED)  # its streams end now
    after_commit(ctx, effects)
    return AccountDeletion(account.id, len(statuses), servers)


async def request_account_deletion(ctx: Context, account_id: int, *, actor: str) -> datetime:
    """The owner asked for its account's deletion: disable it now and schedule the deletion after the grace
    period (see the module docstring). Returns when it is due."""
    due = utcnow() + timedelta(days=ctx.settings.accounts.deletion_grace_days)
    effects = Effects()
    async with ctx.db.transaction() as session:
        account = await session.get(Account, account_id)
        if account is None or account.domain is not None or account.gone_at is not None:
            raise NotFound("no such local account")
        if account.deletion_due_at is not None:
            raise Unprocessable("the deletion of this account is already scheduled")
        account.deletion_due_at = due
        account.suspended_at = utcnow()
        user = await user_for_account(session, account.id)
        if user is not None:
            await revoke_user_tokens(session, user.id)
        await remove_author_from_home_feed(session, None, account.id)
        await send_actor_update(session, effects, ctx, account)  # suspended, as Mastodon tells peers
        await enqueue(
            session,
            ACCOUNTS_QUEUE,
            {"kind": "delete", "account_id": account.id},
            dedupe_key=f"delete account {account.id} {due.isoformat()}",
            run_at=due,
        )
        await add_audit_entry(
            session,
            actor=actor,
            action="account.deletion_requested",
            target=account.uri,
            details={"due": due.isoformat()},
        )
    effects.events.append(AUTHORITY_CHANGED)  # its streams end now
    after_commit(ctx, effects)
    return due


async def cancel_account_deletion(ctx: Context, username: str, *, actor: str) -> None:
    """Call off a requested deletion during its grace period: the account is enabled again (its tokens stay
    revoked: the owner signs in anew), its newest posts return to the feeds and peers get its actor again."""
    effects = Effects()
    async with ctx.db.transaction() as session:
        account = await local_account_by_username(session, username)
        if account is None or account.gone_at is not None:
            raise NotFound(f"no local account {username!r}")
        if account.deletion_due_at is None:
            raise Unprocessable(f"no deletion of {username!r} is scheduled")
        account.deletion_due_at = None
        account.suspended_at = None
        await restore_author_to_home_feeds(session, account)
        await send_actor_update(session, effects, ctx, account)
        await add_audit_entry(
            session, actor=actor, action="account.deletion_cancelled", target=account.uri, details={}
        )
    after_commit(ctx, effects)


async def delete_account_when_due(ctx: Context, account_id: int) -> None:
    """The `accounts` queue's deletion job: delete the account if its deletion is still asked for and due
    (a cancelled one, or one already deleted by an admin, is nothing to do)."""
    async with ctx.db.read() as session:
        account = await session.get(Account, account_id)
    if account is None or account.gone_at is not None or account.deletion_due_at is None:
        return
    if account.deletion_due_at > utcnow():
        return  # asked again later: that request's own job runs then
    await delete_local_account(ctx, account.username, actor="scheduled:account.deletion_requested")
