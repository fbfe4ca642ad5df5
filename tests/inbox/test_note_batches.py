"""Received statuses stored in shared batches (`inbox.notes`): one batch gives each status what storing it
alone would, and refuses only what must be refused."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select, update

from inbox.errors import DomainRefused, Rejected
from inbox.notes import note_writer
from plein.jobs import job_handlers
from storage.accounts import create_local_account
from storage.domains import block_domain
from storage.models import (
    Account,
    HomeFeedEntry,
    Job,
    Mention,
    Notification,
    NotificationRequest,
    Status,
    StatusTag,
    Tag,
)
from storage.mutes import mute
from storage.notification_policy import update_policy
from storage.queue import claim
from storage.remote import insert_tombstone
from storage.types import utcnow
from storage.urls import LocalUrls
from storage.worker import run_one, worker_name
from support.inbox_remote import RemoteActor
from support.inbox_world import InboxWorld
from webfinger.resolve import PreparedNote, check_note, find_parent, resolve_actor


async def _prepared(world: InboxWorld, actor: RemoteActor, note: dict[str, Any]) -> PreparedNote:
    account = await resolve_actor(world.ctx, actor.uri)
    checked = check_note(note, account)
    parent = await find_parent(world.ctx, checked, depth=0)
    return PreparedNote(checked, account, parent, mention_account_ids=None, attachments=checked.attachments)


async def _store_together(world: InboxWorld, batch: list[PreparedNote]) -> list[Any]:
    writer = note_writer(world.ctx)
    return await asyncio.gather(*(writer.store(prepared) for prepared in batch), return_exceptions=True)


async def _count(world: InboxWorld, model: Any, *conditions: Any) -> int:
    return int(await world.scalar(select(func.count()).select_from(model).where(*conditions)) or 0)


async def test_one_batch_stores_links_counts_and_fans_out_each_status(any_world: InboxWorld) -> None:
    world = any_world
    await world.follow_locally(world.alice, world.ann)
    mention = {"tag": [{"type": "Mention", "href": world.bob.uri}, {"type": "Hashtag", "name": "#Plein"}]}
    first = world.ann.note("<p>first</p>", **mention)
    second = world.ann.note("<p>second</p>", cc=[world.bob.uri], **mention)
    tombstoned = world.ann.note("<p>deleted before it arrived</p>")
    ann_id = (await resolve_actor(world.ctx, world.ann.uri)).id
    async with world.ctx.db.transaction() as session:
        await insert_tombstone(session, tombstoned["id"], ann_id)
    batch = [await _prepared(world, world.ann, note) for note in (first, second, first, tombstoned)]
    assert await _store_together(world, batch) == [None, None, None, None]

    stored = {uri: status_id for uri, status_id in (await _rows(world, select(Status.uri, Status.id)))}
    assert set(stored) == {first["id"], second["id"], tombstoned["id"]}
    assert await world.scalar(select(Status.deleted_at).where(Status.uri == tombstoned["id"])) is not None
    for uri in (first["id"], second["id"]):
        assert await _count(world, Mention, Mention.status_id == stored[uri]) == 1
        assert await _count(world, HomeFeedEntry, HomeFeedEntry.status_id == stored[uri]) == 2  # alice, bob
        assert await _count(world, StatusTag, StatusTag.status_id == stored[uri]) == 1
    assert await _count(world, Tag, Tag.name == "plein") == 1
    assert await _count(world, HomeFeedEntry, HomeFeedEntry.account_id == world.alice.id) == 2
    assert await _count(world, Notification, Notification.account_id == world.bob.id) == 2
    assert await world.scalar(select(Account.statuses_count).where(Account.id == ann_id)) == 2


async def test_a_reply_in_a_batch_counts_on_its_parent(world: InboxWorld) -> None:
    parent = world.ann.note("<p>parent</p>", cc=[world.alice.uri])
    await _store_together(world, [await _prepared(world, world.ann, parent)])
    replies = [world.ben.note(f"<p>reply {n}</p>", inReplyTo=parent["id"]) for n in range(3)]
    batch = [await _prepared(world, world.ben, reply) for reply in replies]
    assert await _store_together(world, batch) == [None, None, None]
    parent_id = await world.scalar(select(Status.id).where(Status.uri == parent["id"]))
    assert await world.scalar(select(Status.replies_count).where(Status.id == parent_id)) == 3
    assert await _count(world, Status, Status.in_reply_to_id == parent_id) == 3


async def test_refused_authors_fail_alone_and_silenced_ones_notify_only_followers(world: InboxWorld) -> None:
    await world.follow_locally(world.alice, world.ben)
    to_both = {
        "tag": [{"type": "Mention", "href": world.alice.uri}, {"type": "Mention", "href": world.bob.uri}]
    }
    by_ann = await _prepared(world, world.ann, world.ann.note("<p>ann</p>", **to_both))
    by_ben = await _prepared(world, world.ben, world.ben.note("<p>ben</p>", **to_both))
    by_eve = await _prepared(world, world.eve, world.eve.note("<p>eve</p>", **to_both))
    # After the jobs read their (cached) accounts: the batch must see the moderation of now.
    async with world.ctx.db.transaction() as session:
        await session.execute(
            update(Account).where(Account.id == by_ann.author.id).values(suspended_at=utcnow())
        )
        await session.execute(
            update(Account).where(Account.id == by_ben.author.id).values(silenced_at=utcnow())
        )
        await block_domain(session, world.other.host)
    outcomes = await _store_together(world, [by_ann, by_ben, by_eve])
    assert (
        isinstance(outcomes[0], Rejected) and outcomes[1] is None and isinstance(outcomes[2], DomainRefused)
    )
    assert [uri for (uri,) in await _rows(world, select(Status.uri))] == [by_ben.note.uri]
    notified = await _rows(world, select(Notification.account_id))
    assert notified == [(world.alice.id,)]  # bob does not follow the silenced ben


async def test_concurrent_create_jobs_all_land(world: InboxWorld) -> None:
    count = 12
    notes = [world.ann.note(f"<p>note {n}</p>", cc=[world.alice.uri]) for n in range(count)]
    for note in notes:
        assert (await world.deliver(world.ann.activity("Create", note), world.ann)).status_code == 202
    handler = job_handlers(world.ctx)["inbox"]
    jobs = await claim(world.ctx.db, "inbox", worker_id=worker_name(), limit=count)
    assert len(jobs) == count
    await asyncio.gather(*(run_one(world.ctx.db, handler, job) for job in jobs))
    assert await _count(world, Job, Job.state == "done") == count
    assert await _count(world, Status) == count
    assert await _count(world, HomeFeedEntry) == 0  # nobody here follows ann; alice is only addressed
    assert await _count(world, Notification) == 0


async def _rows(world: InboxWorld, statement: Any) -> list[Any]:
    async with world.ctx.db.read() as session:
        return list((await session.execute(statement)).all())


async def test_mentions_from_a_muted_account_notify_only_when_the_mute_lets_them(
    any_world: InboxWorld,
) -> None:
    world = any_world
    ann_id = (await resolve_actor(world.ctx, world.ann.uri)).id
    async with world.ctx.db.transaction() as session:
        await mute(session, world.alice.id, ann_id, notifications=False, duration_seconds=0)
        await mute(session, world.bob.id, ann_id, notifications=True, duration_seconds=0)
    tags = [{"type": "Mention", "href": account.uri} for account in (world.alice, world.bob)]
    note = world.ann.note("<p>hello both</p>", cc=[world.alice.uri, world.bob.uri], tag=tags)
    assert await _store_together(world, [await _prepared(world, world.ann, note)]) == [None]
    assert await _count(world, HomeFeedEntry) == 0  # both mute ann
    assert await _count(world, Notification, Notification.account_id == world.alice.id) == 1
    assert await _count(world, Notification, Notification.account_id == world.bob.id) == 0


async def test_received_private_mentions_follow_each_recipients_notification_policy(
    any_world: InboxWorld,
) -> None:
    """A direct note from a stranger: held in a request for carol (the default policy filters private
    mentions), never stored for bob (his policy drops them), notified to alice (she follows ann)."""
    world = any_world
    await world.follow_locally(world.alice, world.ann)
    async with world.ctx.db.transaction() as session:
        carol = await create_local_account(
            session, LocalUrls(world.ctx.base_url), username="carol", password_hash="x"
        )
        await update_policy(session, world.bob.id, {"for_private_mentions": "drop"})
    recipients = (world.alice, world.bob, carol)
    note = world.ann.note(
        "<p>psst</p>",
        to=[account.uri for account in recipients],
        cc=[],
        tag=[{"type": "Mention", "href": account.uri} for account in recipients],
    )
    assert await _store_together(world, [await _prepared(world, world.ann, note)]) == [None]
    stored = await _rows(world, select(Notification.account_id, Notification.filtered))
    assert sorted(stored) == sorted([(world.alice.id, False), (carol.id, True)])
    ann_id = (await resolve_actor(world.ctx, world.ann.uri)).id
    requests = await _rows(world, select(NotificationRequest.account_id, NotificationRequest.from_account_id))
    assert requests == [(carol.id, ann_id)]
