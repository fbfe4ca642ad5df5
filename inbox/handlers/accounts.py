"""Activities about actors themselves: Update of a profile, Delete of an actor, Move to a new account."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from inbox.actors import forget_actor
from inbox.errors import Rejected
from inbox.handlers.common import queue_reply
from inbox.policy import refuse_unfederated
from storage.account_removal import erase_account
from storage.agency import accept_remote_mark, claimed_mark
from storage.bus import Event
from storage.context import Context
from storage.follows import recount_follows
from storage.models import Account, Follow, FollowRequest
from storage.remote import upsert_remote_account
from webfinger.convert import actor_to_account, id_of
from webfinger.resolve import ResolveError, domain_policy, resolve_actor


async def update_actor(ctx: Context, document: dict[str, Any], actor: Account) -> list[Event]:
    """The actor's new profile (it may only update itself: checked before queueing and here)."""
    if document.get("id") != actor.uri:
        raise Rejected("an actor can only update itself")
    try:
        values = actor_to_account(document)
    except ValueError as error:
        raise Rejected(str(error)) from error
    accept_remote_mark(values, claimed_mark(document), ctx.settings.federation.trusted_government_instances)
    async with ctx.db.transaction() as session:
        if (await domain_policy(ctx, session, values["domain"] or "")).reject_media:
            values["emojis"] = []  # custom emoji images are media too
        await upsert_remote_account(session, values)
    forget_actor(ctx, actor.uri)
    return []


async def delete_actor(ctx: Context, actor: Account) -> list[Event]:
    """The actor is gone: its statuses are tombstoned, its follows both ways and its favourites dropped."""
    async with ctx.db.transaction() as session:
        account = await session.get(Account, actor.id)
        if account is None or account.domain is None:
            return []
        await erase_account(session, account)
    forget_actor(ctx, actor.uri)
    return []


async def handle_move(ctx: Context, activity: dict[str, Any], actor: Account) -> list[Event]:
    """The actor moved to `target`, which must list it in `alsoKnownAs`: local followers follow the target."""
    if id_of(activity.get("object")) != actor.uri:
        raise Rejected("an actor can only move itself")
    target_uri = id_of(activity.get("target"))
    if target_uri is None or target_uri == actor.uri:
        raise Rejected("Move without a target")
    await refuse_unfederated(ctx, target_uri)
    try:
        target = await resolve_actor(ctx, target_uri, refresh=True)
    except ResolveError as error:
        raise Rejected(f"Move target unavailable: {error}") from error
    if actor.uri not in (target.also_known_as or []):
        raise Rejected(f"{target_uri} does not list {actor.uri} in alsoKnownAs")
    async with ctx.db.transaction() as session:
        origin = await session.get(Account, actor.id)
        target = await session.get(Account, target.id)
        assert origin is not None and target is not None
        origin.moved_to_account_id = target.id
        local_follows = (
            await session.execute(
                select(Follow, Account)
                .join(Account, Account.id == Follow.account_id)
                .where(Follow.target_account_id == origin.id, Account.domain.is_(None))
            )
        ).all()
        for follow, follower in local_follows:
            await session.delete(follow)
            already = await session.execute(
                select(Follow.id).where(
                    Follow.account_id == follower.id, Follow.target_account_id == target.id
                )
            )
            if already.first() is not None:
                continue
            uri = await queue_reply(
                session,
                ctx,
                sender=follower,
                recipient=target,
                activity_type="Follow",
                activity_object=target.uri,
            )
            session.add(
                FollowRequest(
                    account_id=follower.id,
                    target_account_id=target.id,
                    uri=uri,
                    show_reblogs=follow.show_reblogs,
                    notify=follow.notify,
                )
            )
        await session.flush()
        await recount_follows(session, origin.id, *(follower.id for _, follower in local_follows))
    forget_actor(ctx, actor.uri)
    return []
