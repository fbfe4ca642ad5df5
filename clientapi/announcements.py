"""Announcements: list the ones in force (`read`, dismissed ones on request), dismiss one, react with a
Unicode emoji or a local custom emoji. Admins publish and withdraw them (`plein announcement …`, moderation.announcements)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clientapi.auth import require_auth
from clientapi.entities.common import format_optional_time, format_time
from clientapi.entities.emojis import emoji_to_entity
from clientapi.errors import NotFound, Unprocessable, ValidationCode
from clientapi.params import parse_id, read_params
from clientapi.responses import api_response
from moderation import ANNOUNCEMENTS_TOPIC
from storage import announcements as queries
from storage.bus import Event
from storage.context import Context
from storage.custom_emojis import emojis_in, facts_of, local_emojis_named
from storage.models import Account, Announcement
from storage.types import utcnow
from storage.urls import LocalUrls


def _reaction_images(facts: dict[str, Any] | None) -> dict[str, Any]:
    """A reaction's `url` and `static_url`: a custom emoji's images, none for a Unicode emoji."""
    if facts is None:
        return {"url": None, "static_url": None}
    return {"url": facts["url"], "static_url": facts["static_url"]}


def announcement_to_entity(
    announcement: Announcement,
    *,
    read: bool,
    reactions: list[queries.ReactionCount],
    mentioned: list[Account],
    emojis: list[dict[str, Any]],
    custom: dict[str, dict[str, Any]],
    urls: LocalUrls,
) -> dict[str, Any]:
    """The Announcement entity; `emojis` are the custom emojis its text uses, `custom` those its reactions
    name (by shortcode), as `apub.emojis.emoji_facts`."""
    return {
        "id": str(announcement.id),
        "content": announcement.content,
        "starts_at": format_optional_time(announcement.starts_at),
        "ends_at": format_optional_time(announcement.ends_at),
        "all_day": announcement.all_day,
        "published_at": format_time(announcement.published_at),
        "updated_at": format_time(announcement.updated_at),
        "read": read,
        "mentions": [
            {
                "id": str(account.id),
                "username": account.username,
                "url": account.url or account.uri,
                "acct": account.username,
            }
            for account in mentioned
        ],
        "statuses": [],
        "tags": [{"name": name, "url": urls.tag_page(name)} for name in announcement.tags],
        "emojis": [emoji_to_entity(facts) for facts in emojis],
        "reactions": [
            {
                "name": reaction.name,
                "count": reaction.count,
                "me": reaction.me,
                **_reaction_images(custom.get(reaction.name)),
            }
            for reaction in reactions
        ],
    }


async def list_announcements(request: Request) -> Response:
    ctx: Context = request.state.ctx
    auth = await require_auth(request, "read")
    assert auth.account is not None
    params = await read_params(request)
    with_dismissed = bool(params.get_bool("with_dismissed", False))
    async with ctx.db.read() as session:
        shown = await queries.announcements_for(
            session, auth.account.id, now=utcnow(), with_dismissed=with_dismissed
        )
        entities = await announcements_to_entities(session, ctx, shown, auth.account.id)
    return api_response(entities)


async def announcements_to_entities(
    session: AsyncSession, ctx: Context, shown: list[Announcement], account_id: int
) -> list[dict[str, Any]]:
    """Announcement entities as `account_id` sees them (read state, its own reactions)."""
    ids = [announcement.id for announcement in shown]
    read = await queries.read_ids(session, account_id, ids)
    reactions = await queries.reactions_of(session, ids, account_id)
    mention_ids = {account_id for announcement in shown for account_id in announcement.mention_ids}
    accounts = {
        account.id: account
        for account in (await session.execute(select(Account).where(Account.id.in_(mention_ids)))).scalars()
    }
    urls = LocalUrls(ctx.base_url)
    names = {reaction.name for counts in reactions.values() for reaction in counts}
    custom = {
        code: facts_of(emoji, urls) for code, emoji in (await local_emojis_named(session, names)).items()
    }
    emojis = {  # a handful of announcements at most: one look-up each
        announcement.id: await emojis_in(session, None, (announcement.content,), urls)
        for announcement in shown
    }
    return [
        announcement_to_entity(
            announcement,
            read=announcement.id in read,
            reactions=reactions.get(announcement.id, []),
            mentioned=[accounts[i] for i in announcement.mention_ids if i in accounts],
            emojis=emojis[announcement.id],
            custom=custom,
            urls=urls,
        )
        for announcement in shown
    ]


async def _announcement_id(request: Request, ctx: Context) -> int:
    announcement_id = parse_id(request.path_params["id"])
    async with ctx.db.read() as session:
        if await queries.announcement_in_force(session, announcement_id, now=utcnow()) is None:
            raise NotFound()
    return announcement_id


async def dismiss(request: Request) -> Response:
    ctx: Context = request.state.ctx
    auth = await require_auth(request, "write:accounts")
    assert auth.account is not None
    announcement_id = await _announcement_id(request, ctx)
    async with ctx.db.transaction() as session:
        await queries.mark_read(session, auth.account.id, announcement_id)
    return api_response({})


async def _reaction(session: AsyncSession, ctx: Context, name: str) -> dict[str, Any] | None:
    """Check a reaction's name: a Unicode emoji (None) or a local custom emoji's shortcode (its facts), as
    Mastodon accepts; else 422."""
    # Imported on the first reaction: the Unicode emoji table costs ~8 MiB that an idle server need not hold.
    import emoji

    if len(name) <= 64 and emoji.is_emoji(name):
        return None
    custom = (await local_emojis_named(session, [name])).get(name)
    if custom is None:
        raise Unprocessable(
            "Validation failed: Name is not a recognized emoji", field="name", code=ValidationCode.INCLUSION
        )
    return facts_of(custom, LocalUrls(ctx.base_url))


async def _react(request: Request, *, add: bool) -> Response:
    ctx: Context = request.state.ctx
    auth = await require_auth(request, "write:favourites")
    assert auth.account is not None
    announcement_id = await _announcement_id(request, ctx)
    name = request.path_params["name"]
    async with ctx.db.transaction() as session:
        custom = await _reaction(session, ctx, name)
        if add:
            changed = await queries.add_reaction(session, announcement_id, auth.account.id, name)
        else:
            changed = await queries.remove_reaction(session, announcement_id, auth.account.id, name)
        counts = await queries.reactions_of(session, [announcement_id], auth.account.id)
    if changed:
        count = next(
            (reaction.count for reaction in counts.get(announcement_id, []) if reaction.name == name), 0
        )
        ctx.bus.publish(
            Event(
                topic=ANNOUNCEMENTS_TOPIC,
                kind="announcement.reaction",
                payload={
                    "announcement_id": announcement_id,
                    "name": name,
                    "count": count,
                    **({} if custom is None else _reaction_images(custom)),
                },
            )
        )
    return api_response({})


async def add_reaction(request: Request) -> Response:
    return await _react(request, add=True)


async def remove_reaction(request: Request) -> Response:
    return await _react(request, add=False)


routes = [
    Route("/api/v1/announcements", list_announcements, methods=["GET"]),
    Route("/api/v1/announcements/{id}/dismiss", dismiss, methods=["POST"]),
    Route("/api/v1/announcements/{id}/reactions/{name}", add_reaction, methods=["PUT"]),
    Route("/api/v1/announcements/{id}/reactions/{name}", remove_reaction, methods=["DELETE"]),
]
