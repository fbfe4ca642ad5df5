"""What a local group does (FEP-1b12): announce its members' posts, and what its moderators do — take a post
out of the group, ban an account from it and lift the ban. Each one transaction; the moderators' acts are
audited in it. The CLI, the client API and the web pages all call these.

A group's `Announce` is a boost of the post (object: the post's id), as Friendica's groups and Lemmy's
compatibility announce send it, so Mastodon, GoToSocial and Plein show it in the home timelines of the
group's members. A moderator's act also reaches the members as Lemmy sends it: the group's `Announce` of
the moderator's `Delete` of the post, `Block` of the account (`target`: the group) or `Undo` of that
`Block` (docs/GROUPS.md)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from apub.builders import build_activity
from apub.vocab import PUBLIC
from outbox.actions._unit import Effects, after_commit, record_activity, urls_of
from outbox.actions.blocks import block_in, unblock_in
from outbox.actions.interactions import reblog, unreblog_in
from outbox.actions.statuses import delete_status_in
from outbox.addressing import DeliveryTargets
from outbox.errors import ActionError, Forbidden, NotFound, Unprocessable, ValidationCode
from storage.activities import new_activity_id
from storage.audit import add_audit_entry
from storage.context import Context
from storage.groups import is_group, is_moderator, may_post_to
from storage.models import Account, Status
from storage.statuses import boost_of, status_by_id, status_by_uri

logger = logging.getLogger(__name__)

MAX_REASON = 1000  # a sentence or a paragraph citing a rule; Lemmy shows it in its moderation log


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


def moderator_activity(
    activity_type: str,
    activity_id: str,
    moderator_uri: str,
    group_uri: str,
    activity_object: str | dict[str, Any],
    *,
    target: str | None = None,
    reason: str = "",
) -> dict[str, Any]:
    """A moderator's act in a group as Lemmy writes it, to be embedded in the group's `Announce`: public,
    the group in `cc` and `audience`, the moderator's reason (if any) as its `summary`."""
    activity = build_activity(
        activity_type,
        activity_id,
        moderator_uri,
        activity_object,
        to=[PUBLIC],
        cc=[group_uri],
        target=target,
        embedded=True,
    )
    activity["audience"] = group_uri
    if reason:
        activity["summary"] = reason
    return activity


def checked_reason(reason: str) -> str:
    """A moderator's reason as it is sent and audited: trimmed, at most MAX_REASON characters."""
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        raise Unprocessable(
            f"Validation failed: the reason is longer than {MAX_REASON} characters",
            field="reason",
            code=ValidationCode.TOO_LONG,
        )
    return reason


async def announce_moderation_in(
    session: AsyncSession, ctx: Context, effects: Effects, group: Account, moderator_act: dict[str, Any]
) -> None:
    """The group's `Announce` of a moderator's act, to its members' servers, in the caller's transaction
    (FEP-1b12: a group forwards what happens in it by announcing it)."""
    targets = DeliveryTargets()
    targets.add_followers_of(group.id)
    followers = urls_of(ctx).followers(group.username)
    await record_activity(
        session,
        effects,
        ctx=ctx,
        actor=group,
        activity_type="Announce",
        build=lambda uri: build_activity(
            "Announce", uri, group.uri, moderator_act, to=[PUBLIC], cc=[followers]
        ),
        targets=targets,
    )


@dataclass
class Moderation:
    """One moderator's act in one group, inside its transaction: what every act shares (the group checked
    for the moderator, the reason checked) and how it ends (the group announces it; it is audited)."""

    ctx: Context
    session: AsyncSession
    effects: Effects
    group: Account
    moderator: Account
    reason: str

    def activity(
        self,
        activity_type: str,
        activity_object: str | dict[str, Any],
        *,
        target: str | None = None,
        reason: str = "",
    ) -> dict[str, Any]:
        return moderator_activity(
            activity_type,
            urls_of(self.ctx).activity(new_activity_id()),
            self.moderator.uri,
            self.group.uri,
            activity_object,
            target=target,
            reason=reason,
        )

    async def account(self, account: Account) -> Account:
        stored = await self.session.get(Account, account.id)
        if stored is None:
            raise NotFound("Record not found")
        return stored

    async def announce_and_audit(
        self, moderator_act: dict[str, Any], action: str, details: dict[str, Any]
    ) -> None:
        await announce_moderation_in(self.session, self.ctx, self.effects, self.group, moderator_act)
        await add_audit_entry(
            self.session,
            actor=f"@{self.moderator.username}",
            action=action,
            target=f"group:{self.group.id}",
            details={"group": self.group.username, **details, "reason": self.reason},
        )


@asynccontextmanager
async def moderating(
    ctx: Context, group: Account, moderator: Account, reason: str
) -> AsyncIterator[Moderation]:
    """The frame of every moderator's act: the reason checked before anything is read, one transaction in
    which the group is reloaded and the moderator's right checked, the effects run only once it commits."""
    reason = checked_reason(reason)
    effects = Effects()
    async with ctx.db.transaction() as session:
        stored_group = await session.get(Account, group.id)
        if stored_group is None or stored_group.domain is not None or not is_group(stored_group):
            raise NotFound(f"Record not found: @{group.username} is not a local group")
        if not await is_moderator(session, stored_group.id, moderator.id):
            raise Forbidden(f"@{moderator.username} does not moderate @{stored_group.username}")
        yield Moderation(ctx, session, effects, stored_group, moderator, reason)
    after_commit(ctx, effects)


async def remove_from_group(
    ctx: Context, group: Account, moderator: Account, status_id: int, *, reason: str = ""
) -> Status:
    """A moderator takes a post out of the group. A post written on this server is deleted, as a post in a
    Lemmy community lives and dies there: its author's `Delete` goes where the post went, the group's
    members included (they saw it through the group). A remote post cannot be deleted here: the group's
    `Undo(Announce)` goes to its members. Only a post the group announced can be removed."""
    async with moderating(ctx, group, moderator, reason) as act:
        status = await status_by_id(act.session, status_id)
        if status is not None and status.reblog_of_id is not None:
            status = await status_by_id(act.session, status.reblog_of_id)
        if status is None or await boost_of(act.session, act.group.id, status.id) is None:
            raise NotFound("Record not found: the group did not announce this status")
        deleted = status.local
        if deleted:
            await delete_status_in(act.session, ctx, act.effects, status)
        else:
            await unreblog_in(act.session, ctx, act.effects, act.group, status)
        removal = act.activity("Delete", status.uri, reason=act.reason)
        await act.announce_and_audit(removal, "group.remove", {"status": status.uri, "deleted": deleted})
    return status


async def ban_from_group(
    ctx: Context, group: Account, moderator: Account, target: Account, *, reason: str = ""
) -> bool:
    """A moderator bans an account from the group: the group blocks it (its membership ends, its posts are
    no longer announced, a new Follow is refused; a remote account's server gets the group's `Block`).
    False if it was banned already."""
    async with moderating(ctx, group, moderator, reason) as act:
        banned = await act.account(target)
        if await is_moderator(act.session, act.group.id, banned.id):
            raise Forbidden("a moderator of the group cannot be banned from it")
        done = await block_in(act.session, ctx, act.effects, act.group, banned)
        if done:
            ban = _ban_activity(act, banned, act.reason)
            await act.announce_and_audit(ban, "group.ban", {"account": banned.uri})
    return done


def _ban_activity(act: Moderation, banned: Account, reason: str) -> dict[str, Any]:
    return act.activity("Block", banned.uri, target=act.group.uri, reason=reason)


async def unban_from_group(
    ctx: Context, group: Account, moderator: Account, target: Account, *, reason: str = ""
) -> bool:
    """A moderator lifts a ban: the group's block goes (a remote account's server gets its `Undo(Block)`),
    the members' servers the group's `Announce` of the moderator's `Undo(Block)`. The account may join again.
    False if it was not banned."""
    async with moderating(ctx, group, moderator, reason) as act:
        banned = await act.account(target)
        done = await unblock_in(act.session, ctx, act.effects, act.group, banned)
        if done:
            # the Block being undone is rebuilt without the reason it was given: the Undo carries this one
            lifted = act.activity("Undo", _ban_activity(act, banned, ""), reason=act.reason)
            await act.announce_and_audit(lifted, "group.unban", {"account": banned.uri})
    return done
