"""Account migration: aliases (`alsoKnownAs`) and `Move` of the followers to a new account."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from apub.builders import build_activity
from apub.vocab import PUBLIC
from outbox.actions._unit import Effects, after_commit, record_activity
from outbox.actions.follows import follow
from outbox.actions.profile import send_actor_update
from outbox.addressing import DeliveryTargets
from outbox.errors import NotFound, Unprocessable
from storage.accounts import account_by_uri
from storage.context import Context
from storage.fanout import local_follower_ids
from storage.models import Account
from webfinger.resolve import resolve_actor

logger = logging.getLogger(__name__)


async def _find_account(ctx: Context, uri: str, *, refresh: bool) -> Account | None:
    """The account at `uri`: from the database, or fetched (refreshed, for a remote move target whose
    `alsoKnownAs` must be current) through the WebFinger layer."""
    async with ctx.db.read() as session:
        known = await account_by_uri(session, uri)
    if known is not None and (known.domain is None or not refresh):
        return known
    try:
        return await resolve_actor(ctx, uri, refresh=True)
    except Exception as error:  # an unreachable remote cannot be moved to
        logger.info("could not fetch move target %s: %s", uri, error)
        return known


async def set_aliases(ctx: Context, account: Account, alias_uris: Sequence[str]) -> Account:
    """Set the accounts this one is also known as (needed on the target before a move to it)."""
    effects = Effects()
    async with ctx.db.transaction() as session:
        row = await session.get(Account, account.id)
        if row is None or row.domain is not None:
            raise NotFound("Record not found")
        row.also_known_as = list(dict.fromkeys(alias_uris))
        await session.flush()
        await send_actor_update(session, effects, ctx, row)
    after_commit(ctx, effects)
    return row


async def move_account(ctx: Context, account: Account, target_uri: str) -> None:
    """Move `account` to the account at `target_uri`, which must list it in `alsoKnownAs`: `Move` to the
    remote followers, and local followers follow the target."""
    target = await _find_account(ctx, target_uri, refresh=True)
    if target is None:
        raise NotFound("Record not found: the move target")
    if target.id == account.id:
        raise Unprocessable("Validation failed: an account cannot move to itself", field="target_account")
    if account.uri not in (target.also_known_as or []):
        raise Unprocessable(
            "Validation failed: the target account does not list this one in alsoKnownAs",
            field="target_account",
        )
    effects = Effects()
    async with ctx.db.transaction() as session:
        origin = await session.get(Account, account.id)
        if origin is None or origin.domain is not None:
            raise NotFound("Record not found")
        origin.moved_to_account_id = target.id
        targets = DeliveryTargets()
        targets.add_followers_of(origin.id)
        await record_activity(
            session,
            effects,
            ctx=ctx,
            actor=origin,
            activity_type="Move",
            build=lambda uri: build_activity(
                "Move",
                uri,
                origin.uri,
                origin.uri,
                target=target.uri,
                to=[origin.followers_url or ""],
                cc=[PUBLIC],
            ),
            targets=targets,
        )
        local_followers = await local_follower_ids(session, origin.id)
    after_commit(ctx, effects)
    for follower_id in local_followers:
        async with ctx.db.read() as session:
            follower = await session.get(Account, follower_id)
        if follower is not None and follower.id != target.id:
            await follow(ctx, follower, target)
