"""Groups (FEP-1b12) between Plein and a real Fedify server: Plein people join the Fedify peer's group
`club`, post to it and get its `Announce(Create)` — Lemmy's form — as a boost in their home timelines; the
Fedify peer's `alice` joins a Plein group and receives its `Announce` of a member's post; the Fedify group
announces a `Delete` of that post as Lemmy announces a moderator's removal: by alicia, who moderates
nothing, it is logged and rejected; by alice, listed in the group's `attributedTo` collection, the group's
boost leaves the members' home timelines."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from outbox.actions import follow, post_status
from peers.fedify import FedifyPeer, fedify_peer_fixture  # noqa: F401  (provides the fixture "fedify_peer")
from storage.groups import create_group
from storage.models import Follow, HomeFeedEntry, Status
from storage.urls import LocalUrls
from support.federation import Instance, until
from support.instance import make_settings, serve_in_process
from webfinger.resolve import resolve_actor


@pytest.fixture
async def plein(tmp_path: Path) -> AsyncIterator[Instance]:
    async with serve_in_process(make_settings(tmp_path / "plein")) as running:
        yield Instance(running)


async def test_plein_people_join_a_fedify_group_and_post_to_it(
    plein: Instance, fedify_peer: FedifyPeer, caplog: pytest.LogCaptureFixture
):
    await fedify_peer.reset()
    bob, carol = await plein.local("bob"), await plein.local("carol")
    club = await resolve_actor(plein.ctx, fedify_peer.group_url)
    assert club.actor_type == "Group"
    for member in (bob, carol):
        await follow(plein.ctx, member, club)

    async def joined() -> bool:
        return await plein.count(Follow, Follow.target_account_id == club.id) == 2

    await until(plein, joined, what="the Fedify group accepts both Follows")
    assert set(await fedify_peer.group_members()) == {bob.uri, carol.uri}

    post = await post_status(plein.ctx, bob, text=f"@club@{fedify_peer.host} Wie komt er zaterdag?")

    async def announced() -> Status | None:
        async with plein.ctx.db.read() as session:
            boost = (
                await session.execute(
                    select(Status).where(Status.account_id == club.id, Status.reblog_of_id == post.id)
                )
            ).scalar_one_or_none()
            if boost is None:
                return None
            seen = select(HomeFeedEntry).where(
                HomeFeedEntry.account_id == carol.id, HomeFeedEntry.status_id == boost.id
            )
            return boost if (await session.execute(seen)).first() is not None else None

    await until(plein, announced, what="the group's Announce(Create) reaches carol's home timeline")
    [create] = [entry for entry in await fedify_peer.inbox() if entry["type"] == "Create"]
    assert create["raw"]["object"]["audience"] == club.uri  # the post names its group (FEP-1b12)
    [announce] = await fedify_peer.group_announces()
    assert announce["object_id"] == post.uri  # FEP-1b12: the Create it announced carried bob's post
    assert announce["create_id"] == f"{post.uri}/activity"
    assert await fedify_peer.errors() == []

    # The group announces alicia's Delete of the post: she moderates nothing, so it is a forgery.
    with caplog.at_level(logging.WARNING, logger="inbox.handlers.group_moderation"):
        await fedify_peer.group_moderate(post.uri, by="alicia")

        async def refused() -> bool:
            return any("forged group moderation" in record.getMessage() for record in caplog.records)

        await until(plein, refused, what="the forged announced Delete is logged")
    assert await announced() is not None

    # alice moderates the group (its attributedTo collection lists her): the boost leaves the timelines.
    await fedify_peer.group_moderate(post.uri, by="alice")

    async def taken_out() -> bool:
        async with plein.ctx.db.read() as session:
            live = select(Status).where(
                Status.account_id == club.id, Status.reblog_of_id == post.id, Status.deleted_at.is_(None)
            )
            return (await session.execute(live)).first() is None

    await until(plein, taken_out, what="the moderator's announced Delete takes the group's boost out")
    assert await plein.count(HomeFeedEntry, HomeFeedEntry.account_id == carol.id) == 0
    assert (await plein.status(post.uri)).deleted_at is None  # bob's post stays his
    assert await fedify_peer.errors() == []


async def test_fedify_joins_a_plein_group_and_receives_its_announce(plein: Instance, fedify_peer: FedifyPeer):
    await fedify_peer.reset()
    async with plein.ctx.db.transaction() as session:
        group = await create_group(session, LocalUrls(plein.ctx.base_url), "buurt", display_name="Buurt")
    dora = await plein.local("dora")
    await follow(plein.ctx, dora, group)
    await fedify_peer.follow(group.uri)

    async def joined() -> bool:
        return await plein.count(Follow, Follow.target_account_id == group.id) == 2

    await until(plein, joined, what="alice on Fedify joins the Plein group")
    post = await post_status(plein.ctx, dora, text="@buurt Straatfeest op 12 juni")

    async def delivered() -> bool:
        return any(
            activity["type"] == "Announce"
            and activity["actor"] == group.uri
            and activity["object_id"] == post.uri
            for activity in await fedify_peer.inbox()
        )

    await until(plein, delivered, what="the group's Announce reaches alice on Fedify")
    assert await fedify_peer.errors() == []
