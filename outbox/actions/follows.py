"""Follow, unfollow, answer follow requests, remove a follower.

A local target is handled in the same transaction (follow or request row, notification); a remote target
gets a `Follow` and waits as a follow request until the remote's `Accept` (handled by the inbox).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from apub.builders import build_activity, build_undo
from outbox.actions._unit import Effects, after_commit, record_activity
from outbox.addressing import DeliveryTargets
from outbox.errors import Forbidden, NotFound, Unprocessable
from storage.account_pins import unendorse
from storage.context import Context
from storage.follows import (
    blocked_either_way,
    follow_of,
    follow_request_of,
    recount_follows,
    remove_author_from_home_feed,
)
from storage.models import Account, Follow, FollowRequest
from storage.notify import notify as store_notification


def _direct(account: Account) -> DeliveryTargets:
    targets = DeliveryTargets()
    targets.add_account(account, personal=True)
    return targets


def _follow_document(uri: str, follower: Account, target: Account) -> dict[str, object]:
    return build_activity("Follow", uri, follower.uri, target.uri)


async def _fresh(session: AsyncSession, account: Account) -> Account:
    fresh = await session.get(Account, account.id)
    if fresh is None:
        raise NotFound("Record not found")
    return fresh


async def follow(
    ctx: Context, follower: Account, target: Account, *, reblogs: bool = True, notify: bool = False
) -> None:
    """Follow `target` (a follow request when it is locked or remote)."""
    want_notify = notify
    effects = Effects()
    async with ctx.db.transaction() as session:
        follower, target = await _fresh(session, follower), await _fresh(session, target)
        if follower.id == target.id:
            raise Unprocessable("Validation failed: you cannot follow yourself", field="account_id")
        if (
            target.suspended_at is not None
            or target.moved_to_account_id is not None
            and target.domain is None
        ):
            raise Forbidden("This account cannot be followed")
        if await blocked_either_way(session, follower.id, target.id):
            raise Forbidden("This action is not allowed")
        existing = await follow_of(session, follower.id, target.id)
        if existing is not None:
            existing.show_reblogs, existing.notify = reblogs, want_notify
            return
        pending = await follow_request_of(session, follower.id, target.id)
        if pending is not None:
            pending.show_reblogs, pending.notify = reblogs, want_notify
            return
        if target.domain is None and not target.locked:
            session.add(
                Follow(
                    account_id=follower.id,
                    target_account_id=target.id,
                    show_reblogs=reblogs,
                    notify=want_notify,
                )
            )
            await session.flush()
            await recount_follows(session, follower.id, target.id)
            if (event := await store_notification(session, target.id, follower.id, "follow")) is not None:
                effects.events.append(event)
        elif target.domain is None:
            session.add(
                FollowRequest(
                    account_id=follower.id,
                    target_account_id=target.id,
                    show_reblogs=reblogs,
                    notify=want_notify,
                )
            )
            if (
                event := await store_notification(session, target.id, follower.id, "follow_request")
            ) is not None:
                effects.events.append(event)
        else:
            activity = await record_activity(
                session,
                effects,
                ctx=ctx,
                actor=follower,
                activity_type="Follow",
                build=lambda uri: _follow_document(uri, follower, target),
                targets=_direct(target),
                visibility="direct",
            )
            session.add(
                FollowRequest(
                    account_id=follower.id,
                    target_account_id=target.id,
                    uri=activity.uri,
                    show_reblogs=reblogs,
                    notify=want_notify,
                )
            )
    after_commit(ctx, effects)


async def unfollow(ctx: Context, follower: Account, target: Account) -> None:
    """Stop following `target` (or withdraw a pending request); `Undo(Follow)` to a remote target."""
    effects = Effects()
    async with ctx.db.transaction() as session:
        follower, target = await _fresh(session, follower), await _fresh(session, target)
        row: Follow | FollowRequest | None = await follow_of(session, follower.id, target.id)
        if row is None:
            row = await follow_request_of(session, follower.id, target.id)
        if row is None:
            return
        original_uri = row.uri
        await session.delete(row)
        await unendorse(session, follower.id, target.id)  # as Mastodon: a new follow starts unfeatured
        await session.flush()
        await recount_follows(session, follower.id, target.id)
        await remove_author_from_home_feed(session, follower.id, target.id)
        if target.domain is not None:
            original = _follow_document(
                original_uri or f"{follower.uri}#follows/{target.id}", follower, target
            )
            await record_activity(
                session,
                effects,
                ctx=ctx,
                actor=follower,
                activity_type="Undo",
                build=lambda uri: build_undo(uri, follower.uri, original),
                targets=_direct(target),
                visibility="direct",
            )
    after_commit(ctx, effects)


async def _answer(ctx: Context, account: Account, requester: Account, *, accept: bool) -> None:
    effects = Effects()
    async with ctx.db.transaction() as session:
        account, requester = await _fresh(session, account), await _fresh(session, requester)
        await answer_follow_request_in(session, ctx, effects, account, requester, accept=accept)
    after_commit(ctx, effects)


async def answer_follow_request_in(
    session: AsyncSession,
    ctx: Context,
    effects: Effects,
    account: Account,
    requester: Account,
    *,
    accept: bool,
) -> None:
    """Accept or decline a pending follow of `account` in the caller's transaction (a group's moderators
    answer its join requests so, next to their audit entry): `Accept` / `Reject` to a remote requester."""
    request = await follow_request_of(session, requester.id, account.id)
    if request is None:
        raise NotFound("Record not found: no such follow request")
    request_uri, reblogs, want_notify = request.uri, request.show_reblogs, request.notify
    await session.delete(request)
    await session.flush()
    if accept:
        session.add(
            Follow(
                account_id=requester.id,
                target_account_id=account.id,
                uri=request_uri,
                show_reblogs=reblogs,
                notify=want_notify,
            )
        )
        await session.flush()
        await recount_follows(session, requester.id, account.id)
    if requester.domain is not None:
        await _send_answer(
            session, effects, ctx, account, requester, request_uri, "Accept" if accept else "Reject"
        )


async def _send_answer(
    session: AsyncSession,
    effects: Effects,
    ctx: Context,
    account: Account,
    requester: Account,
    follow_uri: str | None,
    answer: str,
) -> None:
    original = build_activity(
        "Follow", follow_uri or requester.uri, requester.uri, account.uri, embedded=True
    )
    await record_activity(
        session,
        effects,
        ctx=ctx,
        actor=account,
        activity_type=answer,
        build=lambda uri: build_activity(answer, uri, account.uri, original, to=[requester.uri]),
        targets=_direct(requester),
        visibility="direct",
    )


async def authorize_follow_request(ctx: Context, account: Account, requester: Account) -> None:
    """Approve a pending follow of a (locked) local account: `Accept` to a remote requester."""
    await _answer(ctx, account, requester, accept=True)


async def reject_follow_request(ctx: Context, account: Account, requester: Account) -> None:
    """Decline a pending follow: `Reject` to a remote requester."""
    await _answer(ctx, account, requester, accept=False)


async def remove_from_followers(ctx: Context, account: Account, follower: Account) -> None:
    """Make `follower` stop following `account` (a `Reject` of their Follow, as Mastodon sends)."""
    effects = Effects()
    async with ctx.db.transaction() as session:
        account, follower = await _fresh(session, account), await _fresh(session, follower)
        row = await follow_of(session, follower.id, account.id)
        if row is None:
            return
        follow_uri = row.uri
        await session.delete(row)
        await session.flush()
        await recount_follows(session, follower.id, account.id)
        await remove_author_from_home_feed(session, follower.id, account.id)
        if follower.domain is not None:
            await _send_answer(session, effects, ctx, account, follower, follow_uri, "Reject")
    after_commit(ctx, effects)
