"""The scale-out shape on PostgreSQL: two `plein serve --no-workers` processes and two `plein worker`
processes on one database. Posts made through either web process are delivered by the workers to every
follower's inbox; while both workers live no delivery runs twice; a SIGKILLed worker's running jobs are taken
back by the other within seconds (same-host liveness and heartbeats, not the five-minute lease) and finished;
nothing is lost or left failed."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from test_federation_processes import eventually

from storage.context import Context
from storage.db import Database
from storage.models import Activity, Job
from support.databases import postgres_database
from support.farm import Farm, follow_from_farm, inbox_farm
from support.instance import PleinProcess, free_port, make_settings
from support.oauth import bearer, make_token

FOLLOWERS = 60
POSTS = 3


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    async with postgres_database() as url:
        yield url


def _processes(tmp_path: Path, database_url: str) -> tuple[list[PleinProcess], list[PleinProcess]]:
    """Two web processes of one instance (one base URL, two listen ports, one data folder) and two workers."""
    port = free_port()
    data = tmp_path / "data"
    webs, workers = [], []
    for index, listen_port in enumerate((port, free_port())):
        folder = tmp_path / f"web{index}"
        folder.mkdir()
        settings = make_settings(
            data, port=port, database_url=database_url, **{"server.listen_port": listen_port}
        )
        webs.append(PleinProcess(settings, folder, extra_args=("--no-workers",)))
    for index in range(2):
        folder = tmp_path / f"worker{index}"
        folder.mkdir()
        settings = make_settings(data, port=port, database_url=database_url)
        workers.append(PleinProcess(settings, folder, command="worker"))
    return webs, workers


def _receipts(farm: Farm) -> Counter[tuple[str, str]]:
    return Counter(
        (inbox, activity) for inbox, activities in farm.received.items() for activity in activities
    )


async def test_two_web_and_two_worker_processes_lose_nothing_when_a_worker_is_killed(
    tmp_path: Path, postgres_url: str
) -> None:
    webs, workers = _processes(tmp_path, postgres_url)
    webs[0].cli("migrate")
    ctx = Context(settings=webs[0].settings, db=Database(postgres_url))
    try:
        for process in (*webs, *workers):
            await process.start()
        async with inbox_farm(servers=3) as farm:
            token = bearer(await make_token(ctx, "alice"))
            await follow_from_farm(ctx, farm, "alice", FOLLOWERS)
            farm.answer_first = 40  # then answers hang until the gate opens: both workers are mid-flight
            uris = []
            async with httpx.AsyncClient(timeout=30) as http:
                for index in range(POSTS):  # through one web process, then the other
                    web = webs[index % 2]
                    posted = await http.post(
                        f"{web.listen_url}/api/v1/statuses", data={"status": f"post {index}"}, headers=token
                    )
                    assert posted.status_code == 200, posted.text
                    uris.append(f"{posted.json()['uri']}/activity")

            async def both_working() -> bool:
                async with ctx.db.read() as session:
                    holders = set(
                        (
                            await session.execute(
                                select(Job.locked_by).where(Job.queue == "deliver", Job.state == "running")
                            )
                        ).scalars()
                    )
                return farm.deliveries() >= 50 and len(holders) == 2

            await eventually(both_working, what="both workers hold deliveries")
            killed = workers[0]
            killed.kill()
            before = _receipts(farm)
            assert max(before.values()) == 1  # while both lived, no delivery ran twice
            async with ctx.db.read() as session:
                held = (
                    (
                        await session.execute(
                            select(Job.payload).where(
                                Job.queue == "deliver",  # not a fan-out page it was expanding
                                Job.state == "running",
                                Job.locked_by.like(f"%:{killed.pid}"),
                            )
                        )
                    )
                    .scalars()
                    .all()
                )
                activity_uris = dict(
                    (
                        await session.execute(select(Activity.id, Activity.uri).where(Activity.uri.in_(uris)))
                    ).all()
                )
            in_flight = {(payload["inbox"], activity_uris[payload["activity_id"]]) for payload in held}
            assert in_flight  # the killed worker had deliveries in hand
            farm.gate.set()
            farm.answer_first = None

            async def everyone_has_everything() -> bool:
                receipts = _receipts(farm)
                return all(
                    receipts[(farm.inbox(index), uri)] >= 1 for index in range(FOLLOWERS) for uri in uris
                )

            await eventually(everyone_has_everything, what="every inbox receives every post", timeout=90)

            async def all_done() -> bool:
                async with ctx.db.read() as session:
                    states = (
                        await session.execute(select(Job.state).where(Job.queue == "deliver"))
                    ).scalars()
                    return Counter(states) == Counter({"done": FOLLOWERS * POSTS})

            await eventually(all_done, what="every delivery job done, none failed", timeout=60)
            assert farm.refused == []
            # Only what the killed worker had in hand may have arrived twice (it was sent, then taken back).
            twice = {pair for pair, count in _receipts(farm).items() if count > 1}
            assert twice <= in_flight
            assert max(_receipts(farm).values()) <= 2
    finally:
        for process in (*webs, *workers):
            process.stop()
        await ctx.db.dispose()
