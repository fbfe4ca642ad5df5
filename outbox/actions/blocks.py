"""Block and unblock: follows dropped both ways, `Block` / `Undo(Block)` to a remote target."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from apub.builders import build_activity, build_undo
from outbox.actions._unit import Effects, after_commit, record_activity, urls_of
from outbox.addressing import DeliveryTargets
from outbox.errors import NotFound, Unprocessable
from storage.activities import new_activity_id
from storage.context import Context
from storage.follows import block_of, drop_follows_between, recount_follows, remove_author_from_home_feed
from storage.models import Account, Block


def _direct(target: Account) -> DeliveryTargets:
    targets = DeliveryTargets()
    targets.add_account(target, personal=True)
    return targets


async def block(ctx: Context, account: Account, target: Account) -> None:
    """Block `target`: follows and requests between the two go, and the target's posts leave our feed."""
    effects = Effects()
    async with ctx.db.transaction() as session:
        blocker, blocked = await session.get(Account, account.id), await session.get(Account, target.id)
        if blocker is None or blocked is None:
            raise NotFound("Record not found")
        await block_in(session, ctx, effects, blocker, blocked)
    after_commit(ctx, effects)


async def block_in(
    session: AsyncSession, ctx: Context, effects: Effects, blocker: Account, blocked: Account
) -> bool:
    """Block in the caller's transaction (a person's block, or a group moderator's ban); False if it
    existed already."""
    if blocker.id == blocked.id:
        raise Unprocessable("Validation failed: you cannot block yourself", field="account_id")
    if await block_of(session, blocker.id, blocked.id) is not None:
        return False
    activity_id = new_activity_id()
    block_uri = urls_of(ctx).activity(activity_id)
    session.add(Block(account_id=blocker.id, target_account_id=blocked.id, uri=block_uri))
    await drop_follows_between(session, blocker.id, blocked.id)
    await session.flush()
    await recount_follows(session, blocker.id, blocked.id)
    await remove_author_from_home_feed(session, blocker.id, blocked.id, boosts_of_them=True)
    if blocked.domain is None:
        await remove_author_from_home_feed(session, blocked.id, blocker.id)
    else:
        await record_activity(
            session,
            effects,
            ctx=ctx,
            actor=blocker,
            activity_type="Block",
            uri=block_uri,
            build=lambda uri: build_activity("Block", uri, blocker.uri, blocked.uri, to=[blocked.uri]),
            targets=_direct(blocked),
            visibility="direct",
        )
    return True


async def unblock(ctx: Context, account: Account, target: Account) -> None:
    """Lift a block: `Undo(Block)` to a remote target."""
    effects = Effects()
    async with ctx.db.transaction() as session:
        blocker, blocked = await session.get(Account, account.id), await session.get(Account, target.id)
        if blocker is None or blocked is None:
            return
        await unblock_in(session, ctx, effects, blocker, blocked)
    after_commit(ctx, effects)


async def unblock_in(
    session: AsyncSession, ctx: Context, effects: Effects, blocker: Account, blocked: Account
) -> bool:
    """Lift a block in the caller's transaction (a person's, or a group moderator's unban); False if there
    was none."""
    row = await block_of(session, blocker.id, blocked.id)
    if row is None:
        return False
    block_uri = row.uri
    await session.delete(row)
    if blocked.domain is not None and block_uri:
        original = build_activity("Block", block_uri, blocker.uri, blocked.uri)
        await record_activity(
            session,
            effects,
            ctx=ctx,
            actor=blocker,
            activity_type="Undo",
            build=lambda uri: build_undo(uri, blocker.uri, original, to=[blocked.uri]),
            targets=_direct(blocked),
            visibility="direct",
        )
    return True
