"""A domain block holds for every spelling of the blocked host: signed deliveries from actors whose ids spell
`blocked.test` (or a blocked IDN) another way are refused through the real inbox, and nothing is stored or
fetched. Remotes are served on loopback under test host names (a resolver plays DNS)."""

from __future__ import annotations

import contextlib
from pathlib import Path

from sqlalchemy import func, select

from storage.domains import BlockTerms, block_domain
from storage.models import Account, Status
from support.inbox_remote import FakeRemote, RemoteActor
from support.inbox_world import InboxWorld, build_world, rsa_pem
from support.instance import loopback_names

NAMES = loopback_names(
    {
        "blocked.test": "127.0.0.1",
        "sub.blocked.test": "127.0.0.1",
        "xn--bcher-kva.test": "127.0.0.1",
        "fine.test": "127.0.0.1",
    }
)

# Each host spelling an actor id may use, and the status of (a) a delivery signed by that actor itself (its
# keyId in the Signature header, so ASCII spellings only) and (b) the same activity relayed: signed by an
# unblocked actor, so Plein must fetch it from its origin (any spelling, in the JSON body) — after
# `block blocked.test --severity suspend` and `block BÜCHER.test --severity suspend`.
SPELLINGS: dict[str, tuple[int | None, int]] = {
    "blocked.test.": (403, 403),  # trailing dot
    "BLOCKED.test": (403, 403),
    "Blocked.Test.": (403, 403),
    "sub.blocked.test.": (403, 403),  # a subdomain, with a trailing dot
    "x@blocked.test": (400, 400),  # userinfo: malformed, not "another host"
    "xn--bcher-kva.test": (403, 403),  # the A-label of a blocked IDN
    "XN--BCHER-KVA.test": (403, 403),
    "bücher.test": (None, 403),  # its Unicode spelling
    "BÜCHER.test.": (None, 403),
    "blocked\u3002test": (None, 403),  # ideographic full stop, which IDNA maps to "."
    "\uff42locked.test": (None, 403),  # a full-width letter, which IDNA maps to "b"
    "fine.test": (202, 202),  # positive control: a host nobody blocked
}


async def _send(world: InboxWorld, server: FakeRemote, name: str, relayed: bool) -> tuple[int, RemoteActor]:
    actor = server.add_actor(name, rsa_pem(3))
    activity = actor.activity("Create", actor.note("<p>hello from a spelling</p>", cc=[world.alice.uri]))
    server.serve(activity)
    response = await world.deliver(activity, world.ann if relayed else actor)
    return response.status_code, actor


async def _stored(world: InboxWorld, actor: RemoteActor) -> int:
    accounts = await world.scalar(select(func.count()).select_from(Account).where(Account.uri == actor.uri))
    statuses = await world.scalar(
        select(func.count())
        .select_from(Status)
        .join(Account, Status.account_id == Account.id)
        .where(Account.uri == actor.uri)
    )
    return int(accounts or 0) + int(statuses or 0)


async def _check_spellings(world: InboxWorld) -> None:
    async with world.ctx.db.transaction() as session:
        await block_domain(session, "blocked.test", BlockTerms(severity="suspend"))
        await block_domain(session, "BÜCHER.test", BlockTerms(severity="suspend"))
    statuses: dict[tuple[str, str], int] = {}
    stored: dict[tuple[str, str], int] = {}
    contacted: dict[tuple[str, str], int] = {}
    expected: dict[tuple[str, str], int] = {}
    async with contextlib.AsyncExitStack() as stack:
        for spelling, (direct, relayed) in SPELLINGS.items():
            for flow, status in (("direct", direct), ("relayed", relayed)):
                if status is None:
                    continue
                server = await stack.enter_async_context(FakeRemote(name=spelling).running())
                case = (spelling, flow)
                expected[case] = status
                statuses[case], actor = await _send(world, server, flow, flow == "relayed")
                await world.drain()
                stored[case] = await _stored(world, actor)
                contacted[case] = len(server.requests)
    assert statuses == expected
    accepted = {case for case, status in expected.items() if status == 202}
    # An accepted delivery stores its actor and its status; a refused one leaves no row and sends nothing.
    assert stored == {case: (2 if case in accepted else 0) for case in expected}
    assert {case for case, count in contacted.items() if count} == accepted


async def test_a_block_holds_for_every_spelling_of_the_host(tmp_path: Path, database_url: str) -> None:
    async for world in build_world(tmp_path, database_url, resolver=NAMES):
        await _check_spellings(world)


async def test_https_default_port_spelling_is_the_blocked_host(world: InboxWorld) -> None:
    """`https://blocked.test:443` is `blocked.test`: refused before anything is fetched (nothing listens
    there, so a fetch would have failed with 503 rather than 403)."""
    async with world.ctx.db.transaction() as session:
        await block_domain(session, "blocked.test", BlockTerms(severity="suspend"))
    ann = world.ann
    spelled = RemoteActor(ann.server, "ann", ann.private_key, {"id": "https://blocked.test:443/users/ann"})
    before = await world.counts()
    activity = ann.activity("Create", ann.note(), actor=spelled.uri)
    response = await world.deliver(activity, spelled)
    assert response.status_code == 403, response.text
    assert await world.counts() == before
    assert world.remote.requests == []
