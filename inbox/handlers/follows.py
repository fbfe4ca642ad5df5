"""Follow, Accept(Follow), Reject(Follow) and the Undo of a Follow or of an Accept."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from inbox.errors import Rejected
from inbox.handlers.common import local_account_by_uri, notify_from, queue_reply
from inbox.handlers.relays import answer_to_subscription
from storage.account_domain_blocks import blocks_domain_of_account
from storage.bus import Event
from storage.context import Context
from storage.follows import block_of, follow_of, follow_request_of, recount_follows
from storage.models import Account, Follow, FollowRequest
from webfinger.convert import id_of


def _follow_object(activity: dict[str, Any], follower: Account, target: Account) -> dict[str, Any]:
    return {"id": activity["id"], "type": "Follow", "actor": follower.uri, "object": target.uri}


async def handle_follow(ctx: Context, activity: dict[str, Any], actor: Account) -> list[Event]:
    """Auto-accept, or a follow request for a locked account; a Reject when the target blocks the actor or
    its domain."""
    events: list[Event] = []
    async with ctx.db.transaction() as session:
        target = await local_account_by_uri(session, id_of(activity.get("object")))
        if target is None or target.suspended_at is not None:
            raise Rejected("Follow of no local account")
        follower = await session.get(Account, actor.id)
        assert follower is not None
        answer = _follow_object(activity, follower, target)
        turned_away = await block_of(session, target.id, follower.id) is not None
        if turned_away or await blocks_domain_of_account(session, target.id, follower.id):
            await queue_reply(
                session,
                ctx,
                sender=target,
                recipient=follower,
                activity_type="Reject",
                activity_object=answer,
            )
            return []
        existing = await follow_of(session, follower.id, target.id)
        if existing is not None:  # a repeated Follow: the Accept was probably lost, send it again
            await queue_reply(
                session,
                ctx,
                sender=target,
                recipient=follower,
                activity_type="Accept",
                activity_object=answer,
            )
            return []
        pending = await follow_request_of(session, follower.id, target.id)
        if target.locked:
            if pending is None:
                session.add(
                    FollowRequest(account_id=follower.id, target_account_id=target.id, uri=activity["id"])
                )
                await session.flush()
                events += await notify_from(session, target.id, follower, "follow_request")
            else:
                pending.uri = activity["id"]
            return events
        if pending is not None:
            await session.delete(pending)
            await session.flush()
        session.add(Follow(account_id=follower.id, target_account_id=target.id, uri=activity["id"]))
        await session.flush()
        await recount_follows(session, follower.id, target.id)
        events += await notify_from(session, target.id, follower, "follow")
        await queue_reply(
            session, ctx, sender=target, recipient=follower, activity_type="Accept", activity_object=answer
        )
    return events


async def _our_request(
    session: Any, activity: dict[str, Any], followee: Account
) -> FollowRequest | Follow | None:
    """Our follow (request) of `followee` that an Accept/Reject answers: by the Follow's id, else by the
    embedded Follow's actor (Fedify embeds the whole Follow)."""
    follow = activity.get("object")
    follow_id = id_of(follow)
    for model in (FollowRequest, Follow):
        if follow_id is not None:
            row = (
                await session.execute(
                    select(model).where(model.uri == follow_id, model.target_account_id == followee.id)
                )
            ).scalar_one_or_none()
            if row is not None:
                return row
        if isinstance(follow, dict):
            follower = await local_account_by_uri(session, id_of(follow.get("actor")))
            if follower is not None:
                row = (
                    await session.execute(
                        select(model).where(
                            model.account_id == follower.id, model.target_account_id == followee.id
                        )
                    )
                ).scalar_one_or_none()
                if row is not None:
                    return row
    return None


async def handle_accept(ctx: Context, activity: dict[str, Any], actor: Account) -> list[Event]:
    """The followed actor accepted our follow request: it becomes a follow (or a relay, our subscription)."""
    follow = activity.get("object")
    if isinstance(follow, dict) and follow.get("type") not in (None, "Follow"):
        return []
    if await answer_to_subscription(ctx, activity, actor, "accepted"):
        return []
    async with ctx.db.transaction() as session:
        row = await _our_request(session, activity, actor)
        if row is None:
            raise Rejected("Accept of no pending follow of this actor")
        if isinstance(row, FollowRequest):
            session.add(
                Follow(
                    account_id=row.account_id,
                    target_account_id=row.target_account_id,
                    uri=row.uri,
                    show_reblogs=row.show_reblogs,
                    notify=row.notify,
                )
            )
            await session.delete(row)
            await session.flush()
            await recount_follows(session, row.account_id, row.target_account_id)
    return []


async def handle_reject(ctx: Context, activity: dict[str, Any], actor: Account) -> list[Event]:
    """The followed actor refused (or ended) our follow."""
    if await answer_to_subscription(ctx, activity, actor, "rejected"):
        return []
    async with ctx.db.transaction() as session:
        row = await _our_request(session, activity, actor)
        if row is None:
            raise Rejected("Reject of no follow of this actor")
        await session.delete(row)
        await session.flush()
        await recount_follows(session, row.account_id, row.target_account_id)
    return []


async def undo_follow(ctx: Context, follow: dict[str, Any] | str, actor: Account) -> list[Event]:
    """The actor stops following a local account (or withdraws its request)."""
    follow_id = id_of(follow)
    async with ctx.db.transaction() as session:
        targets: set[int] = set()
        for model in (Follow, FollowRequest):
            statement = delete(model).where(model.account_id == actor.id).returning(model.target_account_id)
            if follow_id is not None and not isinstance(follow, dict):
                statement = statement.where(model.uri == follow_id)
            else:
                target = await local_account_by_uri(
                    session, id_of(follow.get("object")) if isinstance(follow, dict) else None
                )
                if target is None:
                    continue
                statement = statement.where(model.target_account_id == target.id)
            targets.update((await session.execute(statement)).scalars())
        await recount_follows(session, actor.id, *targets)
    return []


async def undo_accept(ctx: Context, accept: dict[str, Any] | str, actor: Account) -> list[Event]:
    """The actor revokes an Accept: local accounts following it no longer do."""
    async with ctx.db.transaction() as session:
        followers = list(
            (
                await session.execute(
                    delete(Follow)
                    .where(
                        Follow.target_account_id == actor.id,
                        Follow.account_id.in_(select(Account.id).where(Account.domain.is_(None))),
                    )
                    .returning(Follow.account_id)
                )
            ).scalars()
        )
        await recount_follows(session, actor.id, *followers)
    return []
