"""Like (and emoji reactions), Announce and Block, and their Undo."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from inbox.errors import Rejected
from inbox.handlers.common import followed_locally, local_account_by_uri, notify_from
from inbox.handlers.groups import announced_object_id
from inbox.handlers.relays import take_relayed_status
from storage.account_removal import tombstone_status
from storage.bus import Event
from storage.context import Context
from storage.custom_emojis import upsert_remote_emojis
from storage.fanout import fan_out_status
from storage.follows import drop_follows_between, recount_follows, remove_author_from_home_feed
from storage.models import Account, Block, Favourite, Status
from storage.relays import accepted_relay_of
from storage.remote import bump, status_id_for
from storage.statuses import status_by_uri
from storage.urls import LocalUrls
from webfinger.convert import Reaction, addressing, id_of, parse_datetime, reaction_of, visibility_of
from webfinger.resolve import ResolveError, domain_policy, resolve_status


async def handle_like(ctx: Context, activity: dict[str, Any], actor: Account) -> list[Event]:
    """A favourite of a status we have (Likes of unknown statuses concern nobody here); Misskey's `Like`
    with an emoji in `content` keeps it, as a reaction."""
    return await _favourite(ctx, activity, actor, reaction_of(activity))


async def handle_emoji_react(ctx: Context, activity: dict[str, Any], actor: Account) -> list[Event]:
    """An emoji reaction (`EmojiReact`): a favourite that keeps its emoji, since the Mastodon client API
    has no place for reactions to statuses. The first reaction of an actor to a status is the one kept."""
    reaction = reaction_of(activity)
    if reaction is None:
        raise Rejected("EmojiReact without an emoji")
    return await _favourite(ctx, activity, actor, reaction)


async def _favourite(
    ctx: Context, activity: dict[str, Any], actor: Account, reaction: Reaction | None
) -> list[Event]:
    object_id = id_of(activity.get("object"))
    async with ctx.db.transaction() as session:
        status = await status_by_uri(session, object_id) if object_id else None
        if status is None or status.deleted_at is not None:
            return []
        insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
        statement = (
            insert(Favourite)
            .values(
                account_id=actor.id,
                status_id=status.id,
                uri=activity["id"],
                reaction=reaction.text if reaction else None,
            )
            .on_conflict_do_nothing()
            .returning(Favourite.id)
        )
        if (await session.execute(statement)).first() is None:
            return []
        if reaction and reaction.emojis and actor.domain:
            if not (await domain_policy(ctx, session, actor.domain)).reject_media:
                await upsert_remote_emojis(session, actor.domain, reaction.emojis)
        await bump(session, Status.favourites_count, status.id, 1)
        return await notify_from(session, status.account_id, actor, "favourite", status_id=status.id)


async def handle_announce(ctx: Context, activity: dict[str, Any], actor: Account) -> list[Event]:
    """A boost: the boosted status is fetched if unknown (from its own origin), then fanned out; from a
    relay we subscribe to, a relayed status (`inbox.handlers.relays`). A group's `Announce` of a `Create`
    (FEP-1b12) is a boost of the created post."""
    object_id = announced_object_id(activity)
    if object_id is None:
        raise Rejected("Announce without an object")
    async with ctx.db.read() as session:
        relay = await accepted_relay_of(session, actor.uri)
    if relay is not None:
        return await take_relayed_status(ctx, relay, object_id)
    if ctx.settings.federation.drop_unsolicited and not LocalUrls(ctx.base_url).is_local(object_id):
        async with ctx.db.read() as session:
            if not await followed_locally(session, actor.id):
                raise Rejected("unsolicited boost (nobody here follows the booster)")
    try:
        original = await resolve_status(ctx, object_id)
    except ResolveError as error:
        raise Rejected(f"boosted object unavailable: {error}") from error
    if original.visibility not in ("public", "unlisted") or original.deleted_at is not None:
        raise Rejected("only public and unlisted statuses can be boosted")
    to, cc = addressing(activity)
    async with ctx.db.transaction() as session:
        if await status_by_uri(session, activity["id"]) is not None:
            return []
        published = parse_datetime(activity.get("published"))
        boost = Status(
            id=await status_id_for(session, published),
            uri=activity["id"],
            url=activity["id"],
            account_id=actor.id,
            reblog_of_id=original.id,
            visibility=visibility_of(to, cc, actor.followers_url),
        )
        session.add(boost)
        await session.flush()
        await bump(session, Status.reblogs_count, original.id, 1)
        booster = await session.get(Account, actor.id)
        assert booster is not None
        events = await fan_out_status(session, boost, booster)
        events += await notify_from(session, original.account_id, booster, "reblog", status_id=original.id)
        return events


async def handle_block(ctx: Context, activity: dict[str, Any], actor: Account) -> list[Event]:
    """The actor blocks a local account: follows end both ways."""
    async with ctx.db.transaction() as session:
        target = await local_account_by_uri(session, id_of(activity.get("object")))
        if target is None:
            raise Rejected("Block of no local account")
        existing = (
            await session.execute(
                select(Block).where(Block.account_id == actor.id, Block.target_account_id == target.id)
            )
        ).scalar_one_or_none()
        if existing is None:
            session.add(Block(account_id=actor.id, target_account_id=target.id, uri=activity["id"]))
        await drop_follows_between(session, actor.id, target.id)
        await remove_author_from_home_feed(session, target.id, actor.id)
        await session.flush()
        await recount_follows(session, actor.id, target.id)
    return []


async def undo_like(ctx: Context, like: dict[str, Any] | str, actor: Account) -> list[Event]:
    like_id = id_of(like)
    status_uri = id_of(like.get("object")) if isinstance(like, dict) else None
    async with ctx.db.transaction() as session:
        statement = delete(Favourite).where(Favourite.account_id == actor.id).returning(Favourite.status_id)
        removed = list((await session.execute(statement.where(Favourite.uri == like_id))).scalars())
        if not removed and status_uri is not None:
            status = await status_by_uri(session, status_uri)
            if status is not None:
                removed = list(
                    (await session.execute(statement.where(Favourite.status_id == status.id))).scalars()
                )
        for status_id in removed:
            await bump(session, Status.favourites_count, status_id, -1)
    return []


async def undo_announce(ctx: Context, announce: dict[str, Any] | str, actor: Account) -> list[Event]:
    async with ctx.db.transaction() as session:
        boost = await status_by_uri(session, id_of(announce) or "")
        if boost is None or boost.account_id != actor.id or boost.reblog_of_id is None:
            return []
        if boost.deleted_at is None:
            await tombstone_status(session, boost)
    return []


async def undo_block(ctx: Context, block: dict[str, Any] | str, actor: Account) -> list[Event]:
    async with ctx.db.transaction() as session:
        statement = delete(Block).where(Block.account_id == actor.id)
        if isinstance(block, dict) and (
            target := await local_account_by_uri(session, id_of(block.get("object")))
        ):
            statement = statement.where(Block.target_account_id == target.id)
        else:
            statement = statement.where(Block.uri == id_of(block))
        await session.execute(statement)
    return []
