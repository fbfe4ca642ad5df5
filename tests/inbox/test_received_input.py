"""What a remote server sends is kept only as far as it may be trusted: hashtag names as Mastodon allows
them, and reports citing only what the reporting server was allowed to see. Delivered through the real
inbox with real signatures, processed by the worker, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from apub.hashtags import is_hashtag_name, normalize_hashtag
from storage.models import Account, Follow, Mention, Report, Status, StatusTag, Tag
from storage.urls import LocalUrls
from support.inbox_world import InboxWorld
from webfinger.resolve import resolve_actor

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


async def _accepted(world: InboxWorld, activity: dict, signer) -> None:
    response = await world.deliver(activity, signer)
    assert response.status_code == 202, response.text
    await world.drain()


async def test_received_hashtag_names_are_normalised_or_dropped(any_world: InboxWorld) -> None:
    world = any_world
    await world.follow_locally(world.alice, world.ann)
    names = ["<script>", "#Tea", "＃ＦＵＬＬ", "<>", "123", "#a·b", "x" * 300, "#café", "पढ़ाई"]
    note = world.ann.note(
        "<p>tags</p>",
        to=PUBLIC,
        tag=[
            {"type": "Hashtag", "href": f"https://x/tags/{index}", "name": name}
            for index, name in enumerate(names)
        ],
    )
    await _accepted(world, world.ann.activity("Create", note), world.ann)
    status = await world.scalar(select(Status).where(Status.uri == note["id"]))
    assert status is not None  # the status itself is kept
    async with world.ctx.db.read() as session:
        stored = set(
            (
                await session.execute(
                    select(Tag.name).join(StatusTag).where(StatusTag.status_id == status.id)
                )
            ).scalars()
        )
    assert stored == {"script", "tea", "full", "a·b", "café", "पढ़ाई"}
    assert not any("<" in name or ">" in name for name in stored)


@pytest.mark.parametrize(
    ("received", "kept"),
    [
        ("<script>", "script"),
        ("#Tea", "tea"),
        ("ＴＥＡ", "tea"),
        ("tea_time", "tea_time"),
        ("_tea", "_tea"),
        ("l33t", "l33t"),
        ("2024", None),  # no letter
        ("<>", None),
        ("", None),
        ("a·b", "a·b"),
        ("·ab", None),  # a separator may not lead
        ("a b", "ab"),  # what is neither letter, digit nor separator goes
        ("a" * 256, None),
    ],
)
def test_normalize_hashtag_follows_mastodon(received: str, kept: str | None) -> None:
    assert normalize_hashtag(received) == kept
    assert kept is None or is_hashtag_name(kept)


async def _status(world: InboxWorld, visibility: str, mentioned: Account | None = None) -> Status:
    async with world.ctx.db.transaction() as session:
        status = Status(
            uri="", account_id=world.alice.id, local=True, content=visibility, visibility=visibility
        )
        session.add(status)
        await session.flush()
        status.uri = LocalUrls(world.instance.base_url).status(world.alice.username, status.id)
        if mentioned is not None:
            session.add(Mention(status_id=status.id, account_id=mentioned.id))
    return status


async def test_flag_keeps_only_what_the_reporting_server_could_see(any_world: InboxWorld) -> None:
    world = any_world
    ann = await resolve_actor(world.ctx, world.ann.uri)
    ben = await resolve_actor(world.ctx, world.ben.uri)
    public = await _status(world, "public")
    unlisted = await _status(world, "unlisted")
    followers_only = await _status(world, "private")
    direct_to_ben = await _status(world, "direct", mentioned=ben)
    direct_to_nobody_there = await _status(world, "direct")
    cited = [public, unlisted, followers_only, direct_to_ben, direct_to_nobody_there]

    # eve's server has no follower of alice and nobody mentioned: only the public and unlisted ones stay.
    flag = world.eve.activity("Flag", [world.alice.uri, *(status.uri for status in cited)], content="spam")
    await _accepted(world, flag, world.eve)
    report = await world.scalar(select(Report).where(Report.uri == flag["id"]))
    assert report is not None and report.target_account_id == world.alice.id
    assert sorted(report.status_ids) == sorted([public.id, unlisted.id])

    # Positive control: ann (on ben's server) follows alice, and ben is mentioned in one direct status.
    async with world.ctx.db.transaction() as session:
        session.add(Follow(account_id=ann.id, target_account_id=world.alice.id))
    flag = world.ben.activity("Flag", [status.uri for status in cited], content="spam too")
    await _accepted(world, flag, world.ben)
    report = await world.scalar(select(Report).where(Report.uri == flag["id"]))
    assert report is not None and report.target_account_id == world.alice.id
    assert sorted(report.status_ids) == sorted([public.id, unlisted.id, followers_only.id, direct_to_ben.id])
