"""The double-knock against real peers on loopback (tests/support/knock_peer.py): a peer answering 500 to
RFC 9421 (as bovine-herd does), and peers refusing one scheme with 401. Deliveries go through the real queue
(`deliver` jobs), fetches through the real signed-fetch path, keys through the real inbox. Knocks are counted
on the peer's side (docs/SIGNATURES.md holds the table)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from outbox.actions import follow
from outbox.actions.follows import unfollow
from plein.jobs import job_handlers
from storage.models import Job, RemoteKey
from storage.worker import drain
from support.federation import Instance
from support.instance import make_settings, serve_in_process
from support.knock_peer import KnockPeer
from webfinger.fetch import fetch_object
from webfinger.resolve import resolve_actor


@pytest.fixture
async def plein(tmp_path: Path, database_url: str) -> AsyncIterator[Instance]:
    async with serve_in_process(make_settings(tmp_path / "plein", database_url=database_url)) as running:
        yield Instance(running)


async def deliveries(plein: Instance) -> list[tuple[str, int, int | None]]:
    await drain(plein.ctx.db, job_handlers(plein.ctx))
    async with plein.ctx.db.read() as session:
        jobs = (await session.scalars(select(Job).where(Job.queue == "deliver").order_by(Job.id))).all()
    return [(job.state, job.tries, job.last_status) for job in jobs]


async def test_first_contact_with_a_peer_answering_500_to_rfc9421(plein: Instance) -> None:
    peer = KnockPeer(answers={"rfc9421": 500})
    peer.serve({"id": f"{peer.base_url}/notes/1", "type": "Note", "content": "hi"})
    peer.public_paths.add("/notes/1")
    async with peer.running():
        # A public GET answers 200 whatever the signature: it proves nothing about the host.
        await fetch_object(plein.ctx, f"{peer.base_url}/notes/1")
        assert plein.ctx.scheme_memory.get(peer.host) is None
        # Its actor needs a verified signature (authorized fetch): the first knock is accepted.
        carol = await plein.local("carol")
        bovine = await resolve_actor(plein.ctx, peer.actor_url)
        assert peer.schemes("GET", "/users/bovine") == ["cavage"]
        assert plein.ctx.scheme_memory.get(peer.host) is None  # a GET that was never refused teaches nothing
        # A delivery: one knock, one job, done at its first try.
        await follow(plein.ctx, carol, bovine)
        assert await deliveries(plein) == [("done", 1, 202)]
        assert peer.schemes("POST") == ["cavage"]
        assert [activity["type"] for activity in peer.received] == ["Follow"]
        assert plein.ctx.scheme_memory.get(peer.host) is not None  # an accepted inbox POST proves cavage


async def test_a_peer_that_starts_answering_500_to_rfc9421_gets_cavage_in_the_same_job(
    plein: Instance,
) -> None:
    # First the peer verifies RFC 9421 only (401 to cavage), and Plein learns it; then it is "upgraded" to
    # answer 500 to RFC 9421 and verify cavage — bovine-herd's behaviour.
    peer = KnockPeer(answers={"cavage": 401})
    async with peer.running():
        carol = await plein.local("carol")
        bovine = await resolve_actor(plein.ctx, peer.actor_url)
        await follow(plein.ctx, carol, bovine)
        assert await deliveries(plein) == [("done", 1, 202)]
        # The actor fetch was refused with cavage and accepted at once with RFC 9421, which proved it: the
        # delivery knocks once.
        assert peer.schemes() == ["cavage", "rfc9421", "rfc9421"]

        peer.answers = {"rfc9421": 500}
        peer.knocks.clear()
        await unfollow(plein.ctx, carol, bovine)
        # The remembered RFC 9421 gets a 500: dropped, cavage knocked in the same job (2 knocks) ...
        assert await deliveries(plein) == [("done", 1, 202)] * 2
        assert peer.schemes("POST") == ["rfc9421", "cavage"]
        # ... and the next contact knocks once. The 500 taught nothing.
        await follow(plein.ctx, carol, bovine)
        assert await deliveries(plein) == [("done", 1, 202)] * 3
        assert peer.schemes("POST") == ["rfc9421", "cavage", "cavage"]
        assert [activity["type"] for activity in peer.received] == ["Follow", "Undo", "Follow"]

        # The fetch path: a signed GET of its actor also goes through (the cavage proven by the POSTs).
        peer.knocks.clear()
        await resolve_actor(plein.ctx, peer.actor_url, refresh=True)
        assert peer.schemes("GET", "/users/bovine") == ["cavage"]


async def test_a_remembered_scheme_refused_on_a_key_fetch_is_knocked_again_at_once(plein: Instance) -> None:
    # Plein learns that the peer's actor fetches need RFC 9421 (401 to cavage, then accepted) ...
    peer = KnockPeer(answers={"cavage": 401})
    async with peer.running():
        carol = await plein.local("carol")
        await resolve_actor(plein.ctx, peer.actor_url)
        assert peer.schemes("GET", "/users/bovine") == ["cavage", "rfc9421"]
        # ... then the peer refuses RFC 9421 with 401 and verifies cavage. Its delivery makes Plein fetch
        # its key again (unknown key id): the remembered scheme is refused and cavage follows at once.
        peer.answers = {"rfc9421": 401}
        peer.knocks.clear()
        await _forget_keys(plein)
        note = _note(peer, carol.uri)
        response = await peer.deliver(f"{plein.ctx.base_url}/inbox", note)
        assert response.status_code == 202, response.text
        assert peer.schemes("GET", "/users/bovine") == ["rfc9421", "cavage"]


async def test_a_key_fetch_refused_by_both_schemes_is_not_negative_cached(plein: Instance) -> None:
    peer = KnockPeer(answers={"cavage": 401, "rfc9421": 401})
    async with peer.running():
        carol = await plein.local("carol")
        response = await peer.deliver(f"{plein.ctx.base_url}/inbox", _note(peer, carol.uri))
        assert response.status_code == 503, response.text  # key unavailable: the sender retries later
        assert peer.schemes("GET", "/users/bovine") == ["cavage", "rfc9421"]
        # The peer now takes our signature: its retry, seconds later, is accepted (no 60 s negative cache).
        peer.answers = {}
        response = await peer.deliver(f"{plein.ctx.base_url}/inbox", _note(peer, carol.uri))
        assert response.status_code == 202, response.text


def _note(peer: KnockPeer, to: str) -> dict[str, object]:
    number = len(peer.knocks) + len(peer.received) + 1
    note_id = f"{peer.base_url}/notes/{number}-{id(peer)}"
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{note_id}/activity",
        "type": "Create",
        "actor": peer.actor_url,
        "to": [to],
        "object": {
            "id": note_id,
            "type": "Note",
            "attributedTo": peer.actor_url,
            "content": "moo",
            "to": [to],
        },
    }


async def _forget_keys(plein: Instance) -> None:
    """Make Plein fetch the peer's key again, as after a key rotation or a cache expiry."""

    async with plein.ctx.db.transaction() as session:
        for key in (await session.scalars(select(RemoteKey))).all():
            await session.delete(key)
    plein.ctx.key_lookup = type(plein.ctx.key_lookup)(plein.ctx)
