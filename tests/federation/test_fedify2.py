"""Plein against a real Fedify 2 server (tests/fedify2, Node.js 22): both sides in authorized-fetch mode, every
request signed and verified, and each side's FIRST knock accepted — deliveries and signed fetches, both ways.
Fedify 2 signs RFC 9421 first; Plein signs draft-cavage first, and its RFC 9421 (RSA key of `publicKey`)
is accepted at once too. The peer logs every request with its scheme and status, so knocks are counted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from apub.httpsig.knock import RFC9421
from outbox.actions import follow, post_status
from outbox.actions.follows import unfollow
from peers.fedify import FedifyPeer, JsonObject, fedify2_peer_fixture  # noqa: F401  (provides "fedify2_peer")
from storage.models import Follow, Job
from support.federation import Instance, until
from support.instance import make_settings, serve_in_process
from webfinger.fetch import fetch_object
from webfinger.resolve import resolve_acct


@pytest.fixture
async def plein(tmp_path: Path) -> AsyncIterator[Instance]:
    settings = make_settings(tmp_path / "plein", **{"federation.authorized_fetch": True})
    async with serve_in_process(settings) as running:
        yield Instance(running)


def knocks(log: list[JsonObject], direction: str, method: str, url: str) -> list[tuple[str | None, int]]:
    """(scheme, status) of each logged request in `direction` with `method` to `url`."""
    return [
        (entry["scheme"], entry["status"])
        for entry in log
        if entry["direction"] == direction and entry["method"] == method and entry["url"] == url
    ]


async def test_plein_first_knock_is_accepted_by_fedify2(plein: Instance, fedify2_peer: FedifyPeer) -> None:
    peer = fedify2_peer
    await peer.reset()
    carol = await plein.local("carol")
    alice = await resolve_acct(plein.ctx, peer.handle, scheme="http")
    # The signed fetch of alice (Fedify 2 answers only signed GETs): accepted at the first knock.
    assert knocks(await peer.requests(), "in", "GET", peer.actor_url) == [("cavage", 200)]

    await follow(plein.ctx, carol, alice)

    async def accepted() -> bool:
        return (
            await plein.count(Follow, Follow.account_id == carol.id, Follow.target_account_id == alice.id)
            == 1
        )

    await until(plein, accepted, what="Fedify 2 accepts carol's Follow")
    log = await peer.requests()
    assert knocks(log, "in", "POST", peer.inbox_url) == [("cavage", 202)]  # the delivery: one knock
    # Fedify 2 fetches carol's key by its id, "…/carol#main-key", and signs the fragment into RFC 9421's
    # @target-uri although no request carries a fragment: no verifier can check that, so it costs Fedify a
    # second knock (draft-cavage), which it then remembers for Plein (its Accept is signed draft-cavage).
    assert knocks(log, "out", "GET", f"{carol.uri}#main-key") == [("rfc9421", 401), ("cavage", 200)]
    assert knocks(log, "out", "POST", f"{carol.uri}/inbox") == [("cavage", 202)]
    async with plein.ctx.db.read() as session:
        jobs = (await session.scalars(select(Job).where(Job.queue == "deliver"))).all()
    assert [(job.state, job.tries) for job in jobs] == [("done", 1)]
    assert await peer.errors() == []


async def test_plein_rfc9421_signature_is_found_and_accepted_by_fedify2(
    plein: Instance, fedify2_peer: FedifyPeer
) -> None:
    # RFC 9421 is signed with the RSA key of `publicKey`, where Fedify 2 looks RFC 9421 keys up: with
    # RFC 9421 as the first knock, the fetch and the delivery are each accepted at once.
    peer = fedify2_peer
    await peer.reset()
    plein.ctx.scheme_memory.first_knock = RFC9421
    carol = await plein.local("carol")
    alice = await resolve_acct(plein.ctx, peer.handle, scheme="http")
    await follow(plein.ctx, carol, alice)
    await until(plein, lambda: _followers_of(peer, carol.uri), what="Fedify 2 takes the RFC 9421 Follow")
    log = await peer.requests()
    # (Plein fetches alice more than once during a follow; each fetch is one accepted knock.)
    assert set(knocks(log, "in", "GET", peer.actor_url)) == {("rfc9421", 200)}
    assert knocks(log, "in", "POST", peer.inbox_url) == [("rfc9421", 202)]


async def _followers_of(peer: FedifyPeer, uri: str) -> bool:
    return uri in await peer.followers()


async def test_fedify2_signed_fetch_and_delivery_reach_plein(
    plein: Instance, fedify2_peer: FedifyPeer
) -> None:
    peer = fedify2_peer
    await peer.reset()
    dave = await plein.local("dave")
    await peer.follow(dave.uri)  # a signed lookup of dave (authorized fetch), then a signed Follow

    async def followed() -> bool:
        fedify_actor = await plein.account(peer.actor_url)
        return (
            fedify_actor is not None and await plein.count(Follow, Follow.target_account_id == dave.id) == 1
        )

    await until(plein, followed, what="Plein stores Fedify 2's follow")
    status = await post_status(plein.ctx, dave, text="Hello Fedify 2, from Plein")

    async def note_arrived() -> JsonObject | None:
        return next(
            (
                item
                for item in await peer.inbox()
                if item["type"] == "Create" and item["object_id"] == status.uri
            ),
            None,
        )

    create = await until(plein, note_arrived, what="Fedify 2 verifies and takes Plein's Create(Note)")
    assert "Hello Fedify 2" in create["content"]
    log = await peer.requests()
    assert knocks(log, "out", "GET", dave.uri) == [("rfc9421", 200)]  # Fedify's signed fetch, first knock
    assert knocks(log, "out", "POST", f"{plein.ctx.base_url}/users/dave/inbox") == [("rfc9421", 202)]
    # Plein's signed fetch of Fedify's status: first knock.
    note = await peer.post_note("fetch me", to="public")
    await fetch_object(plein.ctx, note["id"])
    assert knocks(await peer.requests(), "in", "GET", note["id"]) == [("cavage", 200)]
    await unfollow(plein.ctx, dave, await plein.account(peer.actor_url))  # type: ignore[arg-type]
    assert await peer.errors() == []
