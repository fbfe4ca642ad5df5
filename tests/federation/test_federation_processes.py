"""Real `plein serve` processes: federation through the client API, and crash safety of a fan-out."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from storage.context import Context
from storage.db import Database
from storage.models import Job
from support.farm import follow_from_farm, inbox_farm
from support.instance import PleinProcess, make_settings
from support.oauth import bearer, make_token


async def eventually(check: Callable[[], Awaitable[Any]], *, what: str, timeout: float = 60.0) -> Any:
    """Poll `check` until it returns something truthy (background workers run in another process)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.1)


def _process(folder: Path) -> PleinProcess:
    folder.mkdir(parents=True)
    return PleinProcess(make_settings(folder), folder)


def _context_of(process: PleinProcess) -> Context:
    """A Context on the process's own database file, to seed rows and tokens beside the running server."""
    return Context(settings=process.settings, db=Database(process.settings.database_url))


async def test_two_processes_follow_post_and_favourite_through_the_api(tmp_path: Path):
    a, b = _process(tmp_path / "a"), _process(tmp_path / "b")
    await a.start()
    await b.start()
    ctx_a, ctx_b = _context_of(a), _context_of(b)
    try:
        alice, bob = bearer(await make_token(ctx_a, "alice")), bearer(await make_token(ctx_b, "bob"))
        b_domain = b.base_url.removeprefix("http://")
        async with httpx.AsyncClient(timeout=30) as http:
            found = await http.get(
                f"{a.base_url}/api/v2/search",
                params={"q": f"@bob@{b_domain}", "resolve": "true"},
                headers=alice,
            )
            [bob_on_a] = found.json()["accounts"]
            followed = await http.post(f"{a.base_url}/api/v1/accounts/{bob_on_a['id']}/follow", headers=alice)
            assert followed.status_code == 200

            async def notified(kind: str) -> bool:
                response = await http.get(f"{b.base_url}/api/v1/notifications", headers=bob)
                return any(item["type"] == kind for item in response.json())

            await eventually(lambda: notified("follow"), what="B notifies bob of alice's follow")

            async def following() -> bool:
                response = await http.get(
                    f"{a.base_url}/api/v1/accounts/relationships",
                    params={"id[]": bob_on_a["id"]},
                    headers=alice,
                )
                return response.json()[0]["following"]

            await eventually(following, what="A sees bob's Accept")
            posted = await http.post(
                f"{b.base_url}/api/v1/statuses", data={"status": "hello from B"}, headers=bob
            )
            assert posted.status_code == 200

            async def in_home() -> dict[str, Any] | None:
                response = await http.get(f"{a.base_url}/api/v1/timelines/home", headers=alice)
                return next((item for item in response.json() if "hello from B" in item["content"]), None)

            copy = await eventually(in_home, what="bob's post in alice's home timeline on A")
            assert copy["uri"] == posted.json()["uri"]
            liked = await http.post(f"{a.base_url}/api/v1/statuses/{copy['id']}/favourite", headers=alice)
            assert liked.status_code == 200
            await eventually(lambda: notified("favourite"), what="B notifies bob of the favourite")
    finally:
        a.stop()
        b.stop()
        await ctx_a.db.dispose()
        await ctx_b.db.dispose()


async def test_sigkill_mid_fan_out_then_restart_delivers_to_every_inbox(tmp_path: Path):
    followers = 120
    process = _process(tmp_path / "a")
    await process.start()
    ctx = _context_of(process)
    try:
        async with inbox_farm(servers=4) as farm:
            token = bearer(await make_token(ctx, "alice"))
            await follow_from_farm(ctx, farm, "alice", followers)
            farm.answer_first = 10  # then every answer hangs: the fan-out freezes mid-flight
            async with httpx.AsyncClient(timeout=30) as http:
                posted = await http.post(
                    f"{process.base_url}/api/v1/statuses", data={"status": "to all"}, headers=token
                )
            assert posted.status_code == 200
            activity_id = f"{posted.json()['uri']}/activity"

            async def frozen() -> bool:
                # 10 answered, then requests hang; the client's per-host cap (8 for 127.0.0.1) bounds them
                return farm.deliveries() >= 15

            await eventually(frozen, what="the fan-out reaches the farm")
            process.kill()
            reached_before = {inbox for inbox, ids in farm.received.items() if activity_id in ids}
            assert len(reached_before) < followers  # killed in mid-fan-out
            farm.gate.set()
            farm.answer_first = None

            await process.start()

            async def everyone() -> bool:
                reached = {inbox for inbox, ids in farm.received.items() if activity_id in ids}
                return len(reached) == followers

            await eventually(everyone, what="every inbox receives the post after the restart")
            assert farm.refused == []

            async def all_done() -> bool:
                async with ctx.db.read() as session:
                    states = (
                        await session.execute(select(Job.state).where(Job.queue == "deliver"))
                    ).scalars()
                    return set(states) == {"done"}

            await eventually(all_done, what="every delivery job is done")
    finally:
        process.stop()
        await ctx.db.dispose()
