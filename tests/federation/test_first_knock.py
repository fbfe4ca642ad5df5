"""Which scheme to knock with first, decided by counting: the knocks of a first contact (a signed GET of the
peer's actor, then one delivery through the queue) with Fedify 2, Fedify 1.5, a peer answering 500 to RFC 9421
(bovine-herd) and a draft-cavage-only peer (Mastodon before 4.5), for each first scheme. The table is in
docs/SIGNATURES.md; this test keeps it true."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from apub.httpsig.knock import CAVAGE, FIRST_KNOCK, RFC9421, Knock, scheme_host
from outbox.actions import follow
from outbox.actions.follows import unfollow
from peers.fedify import (  # noqa: F401  (provides the fixtures "fedify_peer" and "fedify2_peer")
    FedifyPeer,
    fedify2_peer_fixture,
    fedify_peer_fixture,
)
from plein.jobs import job_handlers
from storage.worker import drain
from support.federation import Instance
from support.instance import make_settings, serve_in_process
from support.knock_peer import KnockPeer
from webfinger.resolve import resolve_actor

# peer -> first knock -> (knocks of the actor GET, knocks of the delivery)
EXPECTED = {
    "Fedify 2": {"cavage": (1, 1), "rfc9421": (1, 1)},
    "Fedify 1.5": {"cavage": (1, 1), "rfc9421": (1, 2)},
    "500 to RFC 9421": {"cavage": (1, 1), "rfc9421": (2, 2)},
    # The 401 to the GET, followed by a success with draft-cavage, proved draft-cavage for the delivery.
    "draft-cavage only": {"cavage": (1, 1), "rfc9421": (2, 1)},
}


@pytest.fixture
async def plein(tmp_path: Path) -> AsyncIterator[Instance]:
    async with serve_in_process(make_settings(tmp_path / "plein")) as running:
        yield Instance(running)


async def count_first_contact(
    plein: Instance,
    base_url: str,
    actor_url: str,
    first: Knock,
    log: Callable[[], Awaitable[list[tuple[str, str]]]],
    username: str,
) -> tuple[int, int]:
    """Knocks of a first contact with the peer at `base_url` when `first` is the first knock; `log` returns
    the (method, url) of every request the peer received so far."""
    memory = plein.ctx.scheme_memory
    memory.forget(scheme_host(base_url.split("://", 1)[1]))
    memory.first_knock = first
    carol = await plein.local(username)
    before = len(await log())
    account = await resolve_actor(plein.ctx, actor_url, refresh=True)
    gets = [url for method, url in (await log())[before:] if method == "GET" and url == actor_url]
    before = len(await log())
    await follow(plein.ctx, carol, account)
    await drain(plein.ctx.db, job_handlers(plein.ctx))
    posts = [url for method, url in (await log())[before:] if method == "POST"]
    await unfollow(plein.ctx, carol, account)  # leaves the peer as it was
    await drain(plein.ctx.db, job_handlers(plein.ctx))
    return len(gets), len(posts)


async def test_first_contact_knocks(
    plein: Instance, fedify_peer: FedifyPeer, fedify2_peer: FedifyPeer
) -> None:
    counted: dict[str, dict[str, tuple[int, int]]] = {}
    async with AsyncExitStack() as stack:
        bovine, cavage_only = KnockPeer(answers={"rfc9421": 500}), KnockPeer(answers={"rfc9421": 401})
        for peer in (bovine, cavage_only):
            await stack.enter_async_context(peer.running())

        def fedify_log(peer: FedifyPeer) -> Callable[[], Awaitable[list[tuple[str, str]]]]:
            async def log() -> list[tuple[str, str]]:
                return [
                    (entry["method"], entry["url"])
                    for entry in await peer.requests()
                    if entry["direction"] == "in"
                ]

            return log

        def knock_log(peer: KnockPeer) -> Callable[[], Awaitable[list[tuple[str, str]]]]:
            async def log() -> list[tuple[str, str]]:
                return [(knock.method, f"{peer.base_url}{knock.path}") for knock in peer.knocks]

            return log

        peers = {
            "Fedify 2": (fedify2_peer.base_url, fedify2_peer.actor_url, fedify_log(fedify2_peer)),
            "Fedify 1.5": (fedify_peer.base_url, fedify_peer.actor_url, fedify_log(fedify_peer)),
            "500 to RFC 9421": (bovine.base_url, bovine.actor_url, knock_log(bovine)),
            "draft-cavage only": (cavage_only.base_url, cavage_only.actor_url, knock_log(cavage_only)),
        }
        for index, (name, (base_url, actor_url, log)) in enumerate(peers.items()):
            counted[name] = {
                first.scheme: await count_first_contact(
                    plein, base_url, actor_url, first, log, f"user{index}{first.scheme[:3]}"
                )
                for first in (CAVAGE, RFC9421)
            }
    print("first-contact knocks (actor GET, delivery):", counted)
    assert counted == EXPECTED
    totals = {
        scheme: sum(sum(by_first[scheme]) for by_first in counted.values())
        for scheme in ("cavage", "rfc9421")
    }
    assert totals == {"cavage": 8, "rfc9421": 12}
    assert FIRST_KNOCK == CAVAGE  # the cheaper order is the one Plein uses
