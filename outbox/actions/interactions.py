"""Favourite and boost (and their undoing): `Like` / `Announce` and `Undo`, local notifications."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from apub.builders import build_activity, build_undo
from outbox.actions._unit import Effects, after_commit, record_activity, urls_of
from outbox.addressing import PRIORITY_DIRECT, DeliveryTargets
from outbox.errors import Forbidden, NotFound, Unprocessable, ValidationCode
from outbox.render import boost_to_announce
from storage.activities import new_activity_id
from storage.context import Context
from storage.fanout import fan_out_status
from storage.follows import blocked_either_way
from storage.models import Account, Favourite, Status
from storage.notify import notify
from storage.relays import relayable
from storage.statuses import add_to_counter, boost_of, can_see, favourite_of, status_by_id
from storage.stream_events import reach_events


async def _visible_status(session: AsyncSession, account: Account, status_id: int) -> tuple[Status, Account]:
    status = await status_by_id(session, status_id)
    if status is None or not await can_see(session, account.id, status):
        raise NotFound("Record not found")
    if status.reblog_of_id is not None:  # acting on a boost acts on what it boosted, as Mastodon does
        status = await status_by_id(session, status.reblog_of_id)
        if status is None or not await can_see(session, account.id, status):
            raise NotFound("Record not found")
    author = await session.get(Account, status.account_id)
    assert author is not None
    if await blocked_either_way(session, account.id, author.id):
        raise Forbidden("This action is not allowed")
    return status, author


def _to_author(author: Account) -> DeliveryTargets:
    targets = DeliveryTargets()
    targets.add_account(author, priority=PRIORITY_DIRECT, personal=True)
    return targets


async def favourite(ctx: Context, account: Account, status_id: int) -> Status:
    """Favourite a status: a notification for a local author, `Like` to a remote one."""
    effects = Effects()
    async with ctx.db.transaction() as session:
        status, author = await _visible_status(session, account, status_id)
        if await favourite_of(session, account.id, status.id) is None:
            activity_id = new_activity_id()
            like_uri = urls_of(ctx).activity(activity_id)
            session.add(Favourite(account_id=account.id, status_id=status.id, uri=like_uri))
            await session.flush()
            await add_to_counter(session, Status, status.id, "favourites_count", 1)
            if (
                event := await notify(session, author.id, account.id, "favourite", status_id=status.id)
            ) is not None:
                effects.events.append(event)
            if author.domain is not None:
                await record_activity(
                    session,
                    effects,
                    ctx=ctx,
                    actor=account,
                    activity_type="Like",
                    uri=like_uri,
                    build=lambda uri: build_activity("Like", uri, account.uri, status.uri, to=[author.uri]),
                    targets=_to_author(author),
                    status_id=status.id,
                    visibility="direct",
                )
        await session.refresh(status)
    after_commit(ctx, effects)
    return status


async def unfavourite(ctx: Context, account: Account, status_id: int) -> Status:
    """Take a favourite back: `Undo(Like)` to a remote author."""
    effects = Effects()
    async with ctx.db.transaction() as session:
        status = await status_by_id(session, status_id)
        if status is None:
            raise NotFound("Record not found")
        if status.reblog_of_id is not None:
            status = await status_by_id(session, status.reblog_of_id)
            assert status is not None
        row = await favourite_of(session, account.id, status.id)
        if row is not None:
            like_uri = row.uri
            await session.delete(row)
            await add_to_counter(session, Status, status.id, "favourites_count", -1)
            author = await session.get(Account, status.account_id)
            if author is not None and author.domain is not None and like_uri:
                original = build_activity("Like", like_uri, account.uri, status.uri)
                await record_activity(
                    session,
                    effects,
                    ctx=ctx,
                    actor=account,
                    activity_type="Undo",
                    build=lambda uri: build_undo(uri, account.uri, original, to=[author.uri]),
                    targets=_to_author(author),
                    visibility="direct",
                )
        await session.refresh(status)
    after_commit(ctx, effects)
    return status


async def reblog(ctx: Context, account: Account, status_id: int, visibility: str = "public") -> Status:
    """Boost a status: a boost row fanned out to local followers, `Announce` to remote followers and to
    the original's author. Returns the boost row."""
    if visibility not in ("public", "unlisted", "private"):
        raise Unprocessable(
            f"Validation failed: cannot boost with visibility {visibility!r}",
            field="visibility",
            code=ValidationCode.INCLUSION,
        )
    effects = Effects()
    async with ctx.db.transaction() as session:
        booster = await session.get(Account, account.id)
        assert booster is not None
        status, author = await _visible_status(session, booster, status_id)
        existing = await boost_of(session, booster.id, status.id)
        if existing is not None:
            return existing
        if status.visibility not in ("public", "unlisted") and author.id != booster.id:
            raise Forbidden("This action is not allowed: only public statuses can be boosted")
        if status.visibility == "private":
            visibility = "private"
        activity_id = new_activity_id()
        announce_uri = urls_of(ctx).activity(activity_id)
        boost = Status(
            uri=announce_uri, account_id=booster.id, local=True, reblog_of_id=status.id, visibility=visibility
        )
        session.add(boost)
        await session.flush()
        await add_to_counter(session, Status, status.id, "reblogs_count", 1)
        effects.events += await fan_out_status(session, boost, booster)
        if (event := await notify(session, author.id, booster.id, "reblog", status_id=status.id)) is not None:
            effects.events.append(event)
        targets = DeliveryTargets()
        targets.add_account(author, priority=PRIORITY_DIRECT)
        targets.add_followers_of(booster.id)
        if relayable(boost, status):
            await targets.add_relays(session)
        await record_activity(
            session,
            effects,
            ctx=ctx,
            actor=booster,
            activity_type="Announce",
            uri=announce_uri,
            build=lambda uri: boost_to_announce(boost, status, booster, author, uri),
            targets=targets,
            status_id=boost.id,
            visibility=visibility,
        )
    after_commit(ctx, effects)
    return boost


async def unreblog(ctx: Context, account: Account, status_id: int) -> Status:
    """Take a boost back: the boost row goes, `Undo(Announce)` goes where the Announce went. Returns the
    original status."""
    effects = Effects()
    async with ctx.db.transaction() as session:
        booster = await session.get(Account, account.id)
        assert booster is not None
        status = await status_by_id(session, status_id)
        if status is None:
            raise NotFound("Record not found")
        if status.reblog_of_id is not None:
            status = await status_by_id(session, status.reblog_of_id)
            assert status is not None
        await unreblog_in(session, ctx, effects, booster, status)
        await session.refresh(status)
    after_commit(ctx, effects)
    return status


async def unreblog_in(
    session: AsyncSession, ctx: Context, effects: Effects, booster: Account, status: Status
) -> bool:
    """Take `booster`'s boost of `status` back in the caller's transaction (its own unboost, or a group's
    moderator taking a post out of the group); False if there was none."""
    boost = await boost_of(session, booster.id, status.id)
    if boost is None:
        return False
    author = await session.get(Account, status.account_id)
    assert author is not None
    original = boost_to_announce(boost, status, booster, author, boost.uri)
    targets = DeliveryTargets()
    targets.add_account(author, priority=PRIORITY_DIRECT)
    targets.add_followers_of(booster.id)
    if relayable(boost, status):
        await targets.add_relays(session)
    effects.events += await reach_events(session, boost, "delete")  # its home and list entries
    await session.delete(boost)
    await add_to_counter(session, Status, status.id, "reblogs_count", -1)
    await record_activity(
        session,
        effects,
        ctx=ctx,
        actor=booster,
        activity_type="Undo",
        build=lambda uri: build_undo(uri, booster.uri, original, to=original["to"], cc=original["cc"]),
        targets=targets,
        visibility=boost.visibility,
    )
    return True
