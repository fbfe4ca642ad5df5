"""One status rendered for many readers at once (the home and list streams) is, for each reader, the entity
that reader's own rendering gives: favourites, boosts, bookmarks, pins, muted threads, filters, followed
authors and forced-sensitive media differ from reader to reader."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from clientapi.entities.status_readers import StatusReader, status_for_readers
from clientapi.entities.statuses import statuses_to_entities
from outbox import actions
from storage.conversation_mutes import mute_conversation
from storage.filter_matching import read_viewer_filters
from storage.models import Status
from storage.timelines import add_bookmark
from support.filters import create_filter
from support.instance import RunningInstance
from support.oauth import bearer, make_token, make_user


async def _both_ways(
    instance: RunningInstance, status_id: int, reader_ids: list[int]
) -> list[dict[str, Any] | None]:
    ctx = instance.ctx
    assert ctx is not None
    async with ctx.db.read() as session:
        status = await session.scalar(select(Status).where(Status.id == status_id))
        assert status is not None
        readers = [
            StatusReader(reader_id, ("en",), await read_viewer_filters(session, reader_id))
            for reader_id in reader_ids
        ]
        together = await status_for_readers(session, ctx, status, readers)
        one_by_one = []
        for reader in readers:
            rendered = await statuses_to_entities(
                session,
                ctx,
                [status],
                reader.account_id,
                context="home",
                filters=reader.filters,
                accepted_languages=reader.accepted_languages,
            )
            one_by_one.append(rendered[0] if rendered else None)
    assert together == one_by_one
    return together


async def test_each_reader_sees_their_own_status_entity(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    ctx = instance.ctx
    assert ctx is not None
    author = await make_user(ctx, "author")
    fan, booster, muter, filterer = [
        await make_user(ctx, name) for name in ("fan", "booster", "muter", "filterer")
    ]
    filterer_token = await make_token(ctx, "filterer", "read write")
    for reader in (fan, booster, muter, filterer):
        await actions.follow(ctx, reader, author)
    await actions.follow(ctx, author, booster)
    original = await actions.post_status(ctx, author, text="The #budget vote is tonight, @fan")
    await actions.favourite(ctx, fan, original.id)
    await actions.pin_status(ctx, author, original.id)
    async with ctx.db.transaction() as session:
        await add_bookmark(session, fan.id, original.id)
        await mute_conversation(session, muter.id, original)
    await actions.reblog(ctx, booster, original.id)
    async with instance.client(headers=bearer(filterer_token)) as client:
        await create_filter(client, ["home"], "warn", "budget")
    everyone = [author.id, fan.id, booster.id, muter.id, filterer.id]

    shown = await _both_ways(instance, original.id, everyone)
    by_reader = {reader: entity for reader, entity in zip(everyone, shown, strict=True) if entity is not None}
    assert len(by_reader) == len(everyone)
    assert by_reader[fan.id]["favourited"] and by_reader[fan.id]["bookmarked"]
    assert not by_reader[booster.id]["favourited"] and by_reader[booster.id]["reblogged"]
    assert by_reader[muter.id]["muted"] and by_reader[author.id]["pinned"]
    assert by_reader[filterer.id]["filtered"] and not by_reader[fan.id]["filtered"]

    boost = await actions.reblog(ctx, author, original.id)  # the author's own boost, to its followers
    await _both_ways(instance, boost.id, everyone)
    async with instance.client(headers=bearer(filterer_token)) as client:
        await create_filter(client, ["home"], "hide", "tonight")
    hidden = await _both_ways(instance, original.id, everyone)
    assert hidden[everyone.index(filterer.id)] is None
