"""The outbound gate's policy (`storage.domains.FederationGate`): which hosts may be contacted, and what a
fan-out to thousands of hosts costs the database — one read of the policy for all of them, not one per host."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.domains import BlockTerms, FederationGate, allow_domain, block_domain


class CountingDatabase:
    """The database with its read sessions counted."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.reads = 0

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        self.reads += 1
        async with self.db.read() as session:
            yield session


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_suspended_domains_and_their_subdomains_are_refused(db: Database) -> None:
    async with db.transaction() as session:
        await block_domain(session, "bad.example")
        await block_domain(session, "loud.example", BlockTerms(severity="silence"))
        await block_domain(session, "127.0.0.9:8443")
    gate = FederationGate(db, allowlist_mode=False)  # type: ignore[arg-type]
    assert not await gate("bad.example")
    assert not await gate("social.bad.example")
    assert not await gate("127.0.0.9:8443")
    assert await gate("127.0.0.9:8444")  # another port is another host
    assert await gate("loud.example")  # silenced: still federated with
    assert await gate("good.example")
    assert await gate("notbad.example")


async def test_allowlist_mode_lets_through_only_the_list_less_its_suspensions(db: Database) -> None:
    async with db.transaction() as session:
        await allow_domain(session, "ministry.example")
        await block_domain(session, "leaky.ministry.example")
    gate = FederationGate(db, allowlist_mode=True)  # type: ignore[arg-type]
    assert await gate("ministry.example")
    assert await gate("social.ministry.example")
    assert not await gate("leaky.ministry.example")
    assert not await gate("elsewhere.example")


async def test_a_fan_out_to_many_hosts_reads_the_policy_once(db: Database) -> None:
    async with db.transaction() as session:
        await block_domain(session, "bad.example")
    counting = CountingDatabase(db)
    gate = FederationGate(counting, allowlist_mode=False)  # type: ignore[arg-type]
    answers = [await gate(f"host{index}.example") for index in range(300)]
    assert all(answers)
    assert not await gate("bad.example")
    assert counting.reads == 1


async def test_a_change_made_elsewhere_is_seen_after_the_ttl_one_made_here_at_once(db: Database) -> None:
    clock = Clock()
    counting = CountingDatabase(db)
    gate = FederationGate(counting, allowlist_mode=False, ttl=5.0, clock=clock)  # type: ignore[arg-type]
    assert await gate("later.example")
    async with db.transaction() as session:  # another process (the CLI) blocks it
        await block_domain(session, "later.example")
    clock.now += 4.0
    assert await gate("later.example")  # the kept snapshot
    clock.now += 1.5
    assert not await gate("later.example")
    assert counting.reads == 2
    async with db.transaction() as session:
        await block_domain(session, "here.example")
    gate.forget()  # what this process's moderation action calls
    assert not await gate("here.example")
    assert counting.reads == 3
