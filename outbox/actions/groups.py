"""What a local group does (FEP-1b12): announce its members' posts, and what its moderators do — take a post
out of the group, ban an account from it. Each one transaction; the moderators' acts are audited in it.

A group's `Announce` is a boost of the post (object: the post's id), as Friendica's groups and Lemmy's
compatibility announce send it, so Mastodon, GoToSocial and Plein show it in the home timelines of the
group's members (docs/GROUPS.md)."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from outbox.actions._unit import Effects, after_commit
from outbox.actions.blocks import block_in
from outbox.actions.interactions import reblog, unreblog_in
from outbox.actions.statuses import delete_status_in
from outbox.errors import ActionError, Forbidden, NotFound
from storage.audit import add_audit_entry
from storage.context import Context
from storage.groups import is_group, is_moderator, may_post_to
from storage.models import Account, Status
from storage.statuses import boost_of, status_by_id, status_by_uri

logger = logging.getLogger(__name__)


async def announce_in_group(ctx: Context, group_id: int, status_uri: str) -> Status | None:
    """The group announces a post addressed to it (the `groups` queue's job): only a member's (a follower
    the group does not block), only an original public or unlisted post. Returns the boost, or None when
    the post is not the group's to announce."""
    async with ctx.db.read() as session:
        group = await session.get(Account, group_id)
        status = await status_by_uri(session, status_uri)
        if group is None or group.domain is not None or not is_group(group) or group.suspended_at is not None:
            return None
        if status is None or status.deleted_at is not None or status.reblog_of_id is not None:
            return None
        if status.visibility not in ("public", "unlisted") or status.account_id == group.id:
            return None
        if not await may_post_to(session, group.id, status.account_id):
            logger.info("group @%s: post %s is not a member's, not announced", group.username, status_uri)
            return None
    try:
        return await reblog(ctx, group, status.id)
    except ActionError as error:  # it cannot see it (a block), or the post went meanwhile
        logger.info("group @%s did not announce %s: %s", group.username, status_uri, error)
        return None


async def _moderated_group(session: AsyncSession, group: Account, moderator: Account) -> Account:
    stored = await session.get(Account, group.id)
    if stored is None or stored.domain is not None or not is_group(stored):
        raise NotFound(f"Record not found: @{group.username} is not a local group")
    if not await is_moderator(session, stored.id, moderator.id):
        raise Forbidden(f"@{moderator.username} does not moderate @{stored.username}")
    return stored


async def remove_from_group(ctx: Context, group: Account, moderator: Account, status_id: int) -> Status:
    """A moderator takes a post out of the group. A post written on this server is deleted, as a post in a
    Lemmy community lives and dies there: its author's `Delete` goes where the post went, the group's
    members included (they saw it through the group). A remote post cannot be deleted here: the group's
    `Undo(Announce)` goes to its members. Only a post the group announced can be removed."""
    effects = Effects()
    async with ctx.db.transaction() as session:
        stored_group = await _moderated_group(session, group, moderator)
        status = await status_by_id(session, status_id)
        if status is not None and status.reblog_of_id is not None:
            status = await status_by_id(session, status.reblog_of_id)
        if status is None or await boost_of(session, stored_group.id, status.id) is None:
            raise NotFound("Record not found: the group did not announce this status")
        deleted = status.local
        if deleted:
            await delete_status_in(session, ctx, effects, status)
        else:
            await unreblog_in(session, ctx, effects, stored_group, status)
        await add_audit_entry(
            session,
            actor=f"@{moderator.username}",
            action="group.remove",
            target=f"group:{stored_group.id}",
            details={"group": stored_group.username, "status": status.uri, "deleted": deleted},
        )
    after_commit(ctx, effects)
    return status


async def ban_from_group(ctx: Context, group: Account, moderator: Account, target: Account) -> bool:
    """A moderator bans an account from the group: the group blocks it (its membership ends, its posts are
    no longer announced, a new Follow is refused; a remote account's server gets the group's `Block`).
    False if it was banned already."""
    effects = Effects()
    async with ctx.db.transaction() as session:
        stored_group = await _moderated_group(session, group, moderator)
        banned = await session.get(Account, target.id)
        if banned is None:
            raise NotFound("Record not found")
        if await is_moderator(session, stored_group.id, banned.id):
            raise Forbidden("a moderator of the group cannot be banned from it")
        done = await block_in(session, ctx, effects, stored_group, banned)
        if done:
            await add_audit_entry(
                session,
                actor=f"@{moderator.username}",
                action="group.ban",
                target=f"group:{stored_group.id}",
                details={"group": stored_group.username, "account": banned.uri},
            )
    after_commit(ctx, effects)
    return done
