"""Polls between Plein and a real Fedify 2 server (tests/fedify2, authorized fetch on both sides): a
`Question` posted on Fedify is stored as a poll and voted on from Plein (a `Create(Note)` with the option's
name reaches Fedify's author), and a poll made on Plein is voted on from Fedify, counted, and the new counts
go back in an `Update` of the Question."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from outbox.actions import follow, post_status, vote
from peers.fedify import FedifyPeer, JsonObject, fedify2_peer_fixture  # noqa: F401  (provides "fedify2_peer")
from storage.models import Follow, Poll, Status
from storage.polls import PollRequest
from support.federation import Instance, until
from support.instance import make_settings, serve_in_process
from support.polls import make_poll_jobs_due
from webfinger.resolve import resolve_acct


@pytest.fixture
async def plein(tmp_path: Path) -> AsyncIterator[Instance]:
    settings = make_settings(tmp_path / "plein", **{"federation.authorized_fetch": True})
    async with serve_in_process(settings) as running:
        yield Instance(running)


async def _poll_of(plein: Instance, status_uri: str) -> Poll | None:
    async with plein.ctx.db.read() as session:
        status = (await session.execute(select(Status).where(Status.uri == status_uri))).scalar_one_or_none()
        if status is None:
            return None
        return (await session.execute(select(Poll).where(Poll.status_id == status.id))).scalar_one_or_none()


async def test_a_fedify_question_is_voted_on_from_plein(plein: Instance, fedify2_peer: FedifyPeer) -> None:
    peer = fedify2_peer
    await peer.reset()
    carol = await plein.local("carol")
    alice = await resolve_acct(plein.ctx, peer.handle, scheme="http")
    await follow(plein.ctx, carol, alice)

    async def followed() -> bool:
        return (
            await plein.count(Follow, Follow.account_id == carol.id, Follow.target_account_id == alice.id)
            == 1
        )

    await until(plein, followed, what="Fedify 2 accepts carol's Follow")
    question = await peer.post_question("Which day?", ["Monday", "Friday"])
    poll = await until(
        plein, lambda: _poll_of(plein, question["id"]), what="Plein stores the Question's poll"
    )
    assert poll.options == ["Monday", "Friday"] and poll.multiple is False and poll.expires_at is not None

    await vote(plein.ctx, carol, poll.id, [1])

    async def vote_arrived() -> JsonObject | None:
        for item in await peer.inbox():
            note: Any = item["raw"].get("object")
            if (
                item["type"] == "Create"
                and isinstance(note, dict)
                and note.get("inReplyTo") == question["id"]
            ):
                return note
        return None

    note = await until(plein, vote_arrived, what="Fedify 2 takes carol's vote")
    assert note["name"] == "Friday" and note.get("attributedTo") == carol.uri
    assert await peer.errors() == []


async def test_a_plein_poll_is_voted_on_from_fedify_and_counts_come_back(
    plein: Instance, fedify2_peer: FedifyPeer
) -> None:
    peer = fedify2_peer
    await peer.reset()
    dave = await plein.local("dave")
    await peer.follow(dave.uri)

    async def followed() -> bool:
        return await plein.count(Follow, Follow.target_account_id == dave.id) == 1

    await until(plein, followed, what="Plein stores Fedify 2's follow")
    posted = await post_status(
        plein.ctx, dave, text="Lunch?", poll=PollRequest(options=["soup", "salad"], expires_in=3600)
    )
    await until(plein, vote_target_known(peer, posted.uri), what="Fedify 2 gets the Question")
    await peer.vote(posted.uri, dave.uri, "salad")

    async def counted() -> bool:
        poll = await _poll_of(plein, posted.uri)
        return poll is not None and poll.tallies == [0, 1] and poll.voters_count == 1

    await until(plein, counted, what="Plein counts Fedify 2's vote")
    await make_poll_jobs_due(plein.ctx.db)

    async def counts_back() -> JsonObject | None:
        for item in await peer.inbox():
            question: Any = item["raw"].get("object")
            if item["type"] == "Update" and isinstance(question, dict) and question.get("id") == posted.uri:
                return question
        return None

    question = await until(plein, counts_back, what="Fedify 2 gets the Update with the counts")
    totals = {option["name"]: option["replies"]["totalItems"] for option in question["oneOf"]}
    assert totals == {"soup": 0, "salad": 1} and question["votersCount"] == 1
    assert await peer.errors() == []


def vote_target_known(peer: FedifyPeer, uri: str) -> Any:
    async def check() -> bool:
        return any(item["type"] == "Create" and item["object_id"] == uri for item in await peer.inbox())

    return check
