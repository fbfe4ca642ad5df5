"""A status in three languages both ways between Plein and a real Fedify server: Fedify's vocabulary reads
every language of ours from `contentMap`, and Plein stores every language of Fedify's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from outbox.actions import follow, post_status
from outbox.actions.status_languages import VariantDraft
from peers.fedify import FedifyPeer, fedify_peer_fixture  # noqa: F401  (provides the fixture "fedify_peer")
from storage.models import Follow, Status
from storage.status_variants import variants_of
from support.federation import Instance, until
from support.instance import make_settings, serve_in_process
from webfinger.resolve import resolve_acct


@pytest.fixture
async def plein(tmp_path: Path) -> AsyncIterator[Instance]:
    async with serve_in_process(make_settings(tmp_path / "plein")) as running:
        yield Instance(running)


async def test_trilingual_notes_round_trip_through_fedify(plein: Instance, fedify_peer: FedifyPeer):
    await fedify_peer.reset()
    carol = await plein.local("carol")
    await fedify_peer.follow(carol.uri)
    fedify_alice = await resolve_acct(plein.ctx, fedify_peer.handle, scheme="http")
    await follow(plein.ctx, carol, fedify_alice)

    async def following_both_ways() -> bool:
        fedify_actor = await plein.account(fedify_peer.actor_url)
        return fedify_actor is not None and (
            await plein.count(
                Follow, Follow.account_id == fedify_actor.id, Follow.target_account_id == carol.id
            )
            == await plein.count(
                Follow, Follow.account_id == carol.id, Follow.target_account_id == fedify_alice.id
            )
            == 1
        )

    await until(plein, following_both_ways, what="carol and Fedify's alice follow each other")

    status = await post_status(
        plein.ctx,
        carol,
        text="Goedemorgen",
        language="nl",
        variants=[VariantDraft("fy", "Goeie moarn"), VariantDraft("en", "Good morning")],
    )

    async def note_arrived() -> dict[str, Any] | None:
        return next(
            (
                item
                for item in await fedify_peer.inbox()
                if item["type"] == "Create" and item["object_id"] == status.uri
            ),
            None,
        )

    create = await until(plein, note_arrived, what="Fedify takes Plein's trilingual Create(Note)")
    assert sorted(create["content_languages"]) == ["en", "fy", "nl"]
    assert "Goeie moarn" in create["content_languages"]["fy"]
    assert "Good morning" in create["content_languages"]["en"]

    note = await fedify_peer.post_note(
        "",
        to="public",
        contents={"nl": "<p>Tot ziens</p>", "fy": "<p>Oant sjen</p>", "en": "<p>Goodbye</p>"},
    )

    async def stored() -> Status | None:
        async with plein.ctx.db.read() as session:
            return (
                await session.execute(select(Status).where(Status.uri == note["id"]))
            ).scalar_one_or_none()

    received = await until(plein, stored, what="Plein stores Fedify's trilingual note")
    assert received.language == "nl" and received.content == "<p>Tot ziens</p>"
    async with plein.ctx.db.read() as session:
        others = (await variants_of(session, [received.id]))[received.id]
    assert [(v.language, v.content) for v in others] == [("en", "<p>Goodbye</p>"), ("fy", "<p>Oant sjen</p>")]
    assert await fedify_peer.errors() == []
