"""Benchmark: `GET /api/v1/timelines/home` under concurrent load, beside a bare Starlette endpoint.

    python bench/timeline.py [--statuses 1000000] [--requests 1500] [--concurrency 16] [--backends sqlite,postgresql]

For each backend (SQLite in a temporary folder; a fresh PostgreSQL database on 127.0.0.1:5432, trust auth,
user postgres, created and dropped here) it generates a dataset with the drivers' batch paths (sqlite3
`executemany`, asyncpg `COPY`): 1,000 active remote accounts sharing `--statuses` statuses, 1,000 quiet
accounts with one old status each, one local reader following the active accounts (so its home feed holds
every active status) and one following the quiet ones. Fan-out rows are written as delivery would write them.

Then, against Plein (`plein.app.create_app`, one uvicorn process, full auth and Status entities) and a bare
Starlette app (same engine set-up, the plain indexed SQL for the same page, rows as JSON), the same list of
requests — first pages and `max_id` pages at random depths, `limit=20` — is sent by `--concurrency` clients.
Prints p50/p99 for each; the last line is `RATIO <our p99 / bare p99>`, the larger of the two backends.
Before the rounds both tables are read once (warm caches); each round sends the same requests to both
servers, and which one goes first alternates from round to round.

Last figures (2026-12-04, 1,001,000 statuses, 16 clients, 2 CPUs shared with other agents, load average
~1 during the runs), two consecutive runs, p99 in ms, plein / bare:

    SQLite      active  74 / 33    75 / 34      quiet  92 / 36    79 / 33
    PostgreSQL  active  77 / 33   102 / 45      quiet  76 / 31   105 / 48
    RATIO       2.56, 2.40  (p50 ratios 2.2–2.6)

Before the home page took its feed ids first (`storage.timelines.home_query`), PostgreSQL's active-reader
p99 was 4.5–6 s on both sides: a merge join walking `pk_statuses` down from the newest status.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support.databases import create_postgres_database, drop_postgres_database  # noqa: E402
from bench.support.processes import server_process  # noqa: E402

ACTIVE_ACCOUNTS = 1000
QUIET_ACCOUNTS = 1000
PAGE_LIMIT = 20
STATUS_COLUMNS = (
    "id",
    "uri",
    "url",
    "account_id",
    "local",
    "object_type",
    "content",
    "text",
    "spoiler_text",
    "sensitive",
    "visibility",
    "replies_count",
    "reblogs_count",
    "favourites_count",
    "created_at",
)
# The page of feed ids first, with its own LIMIT (written out), then the statuses: as Plein does it
# (`storage.timelines`), so neither side's plan can walk `pk_statuses` down from the newest status.
BARE_SQL = f"""
SELECT statuses.* FROM (
    SELECT status_id FROM home_feed WHERE account_id = :account_id {{bound}}
    ORDER BY status_id DESC LIMIT {PAGE_LIMIT}
) AS page JOIN statuses ON statuses.id = page.status_id
WHERE statuses.deleted_at IS NULL
ORDER BY page.status_id DESC
"""


@dataclass
class Reader:
    name: str
    account_id: int
    token: str
    feed_ids: list[int] = field(default_factory=list)


@dataclass
class Dataset:
    database_url: str
    statuses: int
    readers: dict[str, Reader]
    seconds: float


def settings_for(database_url: str, port: int, data_dir: str) -> Any:
    from plein.config import load_settings

    return load_settings(
        None,
        overrides={
            "instance.domain": f"127.0.0.1:{port}",
            "instance.base_url": f"http://127.0.0.1:{port}",
            "server.listen_host": "127.0.0.1",
            "server.listen_port": port,
            "server.data_dir": data_dir,
            "database.url": database_url,
            "secrets.secret_key": "bench-secret-key-not-for-production",
            "server.log_level": "warning",
        },
    )


# --- data generation -----------------------------------------------------------------------------------


async def _accounts_and_readers(
    database_url: str, data_dir: str
) -> tuple[list[int], list[int], dict[str, Reader]]:
    """Accounts (ORM: a few thousand rows), the two readers with tokens, and their follows."""
    from sqlalchemy import insert

    from storage.accounts import create_local_account
    from storage.db import Database
    from storage.migrate import migrate
    from storage.models import Account, Follow
    from storage.oauth import create_app, create_token
    from storage.urls import LocalUrls

    db = Database(database_url)
    try:
        await migrate(db)
        urls = LocalUrls("http://127.0.0.1:1")
        readers: dict[str, Reader] = {}
        async with db.transaction() as session:
            remote = [
                Account(
                    username=f"{kind}{number}",
                    domain=f"{kind}.example",
                    uri=f"https://{kind}.example/users/{kind}{number}",
                    url=f"https://{kind}.example/@{kind}{number}",
                    display_name=f"{kind.title()} {number}",
                    fields=[],
                    also_known_as=[],
                )
                for kind, count in (("active", ACTIVE_ACCOUNTS), ("quiet", QUIET_ACCOUNTS))
                for number in range(count)
            ]
            session.add_all(remote)
            await session.flush()
            active_ids = [a.id for a in remote[:ACTIVE_ACCOUNTS]]
            quiet_ids = [a.id for a in remote[ACTIVE_ACCOUNTS:]]
            app, _ = await create_app(session, name="bench", redirect_uris=[], scopes="read", website=None)
            for name, targets in (("active", active_ids), ("quiet", quiet_ids)):
                reader = await create_local_account(
                    session, urls, username=f"reader_{name}", password_hash="x"
                )
                from storage.accounts import user_for_account

                user = await user_for_account(session, reader.id)
                _, token = await create_token(session, app=app, user=user, scopes="read")
                readers[name] = Reader(name, reader.id, token)
                await session.execute(
                    insert(Follow),
                    [{"account_id": reader.id, "target_account_id": target} for target in targets],
                )
        return active_ids, quiet_ids, readers
    finally:
        await db.dispose()


def _status_rows(
    total: int, active_ids: list[int], quiet_ids: list[int]
) -> tuple[list[tuple], list[int], list[int]]:
    """Status rows: quiet accounts' single old posts first, then the active accounts' posts, round-robin."""
    start = datetime.now(UTC) - timedelta(days=60)
    start_ms = int(start.timestamp() * 1000)
    rows: list[tuple] = []
    quiet_status_ids: list[int] = []
    active_status_ids: list[int] = []
    body = "<p>" + "Minutes of the inter-ministerial working group, item {n}. " * 3 + "</p>"
    for index in range(len(quiet_ids) + total):
        millis = start_ms + index * 3
        status_id = millis << 16
        if index < len(quiet_ids):
            account_id = quiet_ids[index]
            quiet_status_ids.append(status_id)
        else:
            account_id = active_ids[index % len(active_ids)]
            active_status_ids.append(status_id)
        uri = f"https://peer.example/s/{status_id}"
        created = datetime.fromtimestamp(millis / 1000, UTC)
        rows.append(
            (
                status_id,
                uri,
                uri,
                account_id,
                False,
                "Note",
                body.format(n=index),
                "",
                "",
                False,
                "public",
                0,
                0,
                0,
                created,
            )
        )
    return rows, active_status_ids, quiet_status_ids


def _fill_sqlite(path: str, rows: list[tuple], feeds: list[tuple[int, list[int]]]) -> None:
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=OFF")
        placeholders = ", ".join("?" for _ in STATUS_COLUMNS)
        statement = f"INSERT INTO statuses ({', '.join(STATUS_COLUMNS)}) VALUES ({placeholders})"
        # SQLAlchemy stores SQLite datetimes as naive UTC text with microseconds.
        connection.executemany(
            statement, ((*row[:-1], row[-1].strftime("%Y-%m-%d %H:%M:%S.%f")) for row in rows)
        )
        for reader_id, status_ids in feeds:
            connection.executemany(
                "INSERT INTO home_feed (account_id, status_id) VALUES (?, ?)",
                ((reader_id, status_id) for status_id in status_ids),
            )
        connection.commit()
        connection.execute("ANALYZE")
        connection.commit()
    finally:
        connection.close()


async def _fill_postgres(url: str, rows: list[tuple], feeds: list[tuple[int, list[int]]]) -> None:
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await connection.copy_records_to_table("statuses", records=rows, columns=list(STATUS_COLUMNS))
        for reader_id, status_ids in feeds:
            await connection.copy_records_to_table(
                "home_feed", records=[(reader_id, s) for s in status_ids], columns=["account_id", "status_id"]
            )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


async def build_dataset(backend: str, folder: str, total: int) -> Dataset:
    began = time.perf_counter()
    if backend == "sqlite":
        path = f"{folder}/bench.db"
        database_url = f"sqlite+aiosqlite:///{path}"
    else:
        database_url = await create_postgres_database("plein_bench")
    active_ids, quiet_ids, readers = await _accounts_and_readers(database_url, folder)
    rows, active_status_ids, quiet_status_ids = _status_rows(total, active_ids, quiet_ids)
    feeds = [
        (readers["active"].account_id, active_status_ids),
        (readers["quiet"].account_id, quiet_status_ids),
    ]
    if backend == "sqlite":
        await asyncio.to_thread(_fill_sqlite, path, rows, feeds)
    else:
        await _fill_postgres(database_url, rows, feeds)
    readers["active"].feed_ids = active_status_ids
    readers["quiet"].feed_ids = quiet_status_ids
    return Dataset(database_url, len(rows), readers, time.perf_counter() - began)


# --- the two servers -------------------------------------------------------------------------------------


def bare_app(database_url: str) -> Any:
    """A Starlette app that runs the plain indexed page query and returns the rows as JSON."""
    import orjson
    from sqlalchemy import text
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from storage.db import Database

    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> Any:
        state["db"] = Database(database_url)
        yield
        await state["db"].dispose()

    async def home(request: Request) -> Response:
        max_id = request.query_params.get("max_id")
        statement = text(BARE_SQL.format(bound="AND status_id < :max_id" if max_id else ""))
        values: dict[str, Any] = {"account_id": int(request.query_params["account_id"])}
        if max_id:
            values["max_id"] = int(max_id)
        async with state["db"].read_engine.connect() as connection:
            rows = (await connection.execute(statement, values)).mappings().all()
        return Response(orjson.dumps([dict(row) for row in rows]), media_type="application/json")

    async def ready(request: Request) -> Response:
        return Response(b"{}", media_type="application/json")

    return Starlette(routes=[Route("/home", home), Route("/readyz", ready)], lifespan=lifespan)


def serve(kind: str, database_url: str, port: int, data_dir: str) -> None:
    """Run one server in this process (called in a subprocess)."""
    import uvicorn

    if kind == "ours":
        from plein.app import create_app

        app = create_app(settings_for(database_url, port, data_dir), run_workers=False)
    else:
        app = bare_app(database_url)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http="httptools",
    )


async def wait_ready(session: Any, base_url: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.stderr.read().decode() if process.stderr else ''}")
        with contextlib.suppress(Exception):
            async with session.get(f"{base_url}/readyz") as response:
                if response.status == 200:
                    return
        await asyncio.sleep(0.1)
    raise RuntimeError("server did not become ready")


# --- load --------------------------------------------------------------------------------------------------


def request_plan(reader: Reader, count: int, rng: random.Random) -> list[int | None]:
    """`max_id` of each request: 60% first pages, the rest at random depths of the reader's feed."""
    newest_first = reader.feed_ids[::-1]
    return [
        None if rng.random() < 0.6 else rng.choice(newest_first[PAGE_LIMIT:-PAGE_LIMIT]) for _ in range(count)
    ]


async def run_load(session: Any, urls: list[str], headers: dict[str, str], concurrency: int) -> list[float]:
    latencies: list[float] = []
    queue: asyncio.Queue[str] = asyncio.Queue()
    for url in urls:
        queue.put_nowait(url)

    async def client() -> None:
        while not queue.empty():
            url = queue.get_nowait()
            began = time.perf_counter()
            async with session.get(url, headers=headers) as response:
                body = await response.read()
                if response.status != 200 or len(body) < 3:
                    raise RuntimeError(f"{url}: {response.status} {body[:200]!r}")
            latencies.append(time.perf_counter() - began)

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return latencies


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def target(kind: str, base_url: str, reader: Reader) -> tuple[str, dict[str, str]]:
    """The page URL (without `max_id`) and headers one server is asked with for `reader`."""
    if kind == "ours":
        return f"{base_url}/api/v1/timelines/home?limit={PAGE_LIMIT}", {
            "Authorization": f"Bearer {reader.token}"
        }
    return f"{base_url}/home?account_id={reader.account_id}&limit={PAGE_LIMIT}", {}


async def measure(
    dataset: Dataset, data_dir: str, plans: dict[str, list[int | None]], concurrency: int, rounds: int
) -> dict[tuple[str, str], tuple[float, float]]:
    """(server, reader) → (p50, p99) in ms. Both servers run side by side and take the load in alternating
    rounds, so whatever else the machine is doing weighs on both alike."""
    import aiohttp

    results: dict[tuple[str, str], tuple[float, float]] = {}
    with (
        server_process(__file__, "ours", dataset.database_url, "{port}", data_dir) as (
            ours_process,
            ours_url,
        ),
        server_process(__file__, "bare", dataset.database_url, "{port}", data_dir) as (
            bare_process,
            bare_url,
        ),
    ):
        servers = {"ours": ours_url, "bare": bare_url}
        connector = aiohttp.TCPConnector(limit=2 * concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:
            await wait_ready(session, ours_url, ours_process)
            await wait_ready(session, bare_url, bare_process)
            for name, plan in plans.items():
                reader = dataset.readers[name]
                latencies: dict[str, list[float]] = {"ours": [], "bare": []}
                chunk = max(1, len(plan) // rounds)
                for kind, base_url in servers.items():  # warm-up
                    path, headers = target(kind, base_url, reader)
                    await run_load(session, [path] * 50, headers, concurrency)
                for number, start in enumerate(range(0, len(plan), chunk)):
                    # Each round sends the same requests to both; who goes first alternates, so neither
                    # always meets the pages the other has just brought into the caches.
                    order = list(servers.items()) if number % 2 == 0 else list(servers.items())[::-1]
                    for kind, base_url in order:
                        path, headers = target(kind, base_url, reader)
                        urls = [
                            path if max_id is None else f"{path}&max_id={max_id}"
                            for max_id in plan[start : start + chunk]
                        ]
                        latencies[kind] += await run_load(session, urls, headers, concurrency)
                for kind, values in latencies.items():
                    results[(kind, name)] = (percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000)
    return results


async def warm_caches(database_url: str) -> None:
    """Read both tables once, so the measured rounds start with the dataset in the caches instead of
    charging whichever server asks first for the cold pages."""
    from sqlalchemy import text

    from storage.db import Database

    db = Database(database_url)
    try:
        async with db.read_engine.connect() as connection:
            await connection.execute(text("SELECT sum(length(content)) FROM statuses"))
            await connection.execute(text("SELECT count(*) FROM home_feed"))
    finally:
        await db.dispose()


async def bench_backend(backend: str, args: argparse.Namespace) -> float:
    with tempfile.TemporaryDirectory(prefix="plein-bench-") as folder:
        dataset = await build_dataset(backend, folder, args.statuses)
        try:
            await warm_caches(dataset.database_url)
            print(
                f"[{backend}] dataset: {dataset.statuses:,} statuses, generated in {dataset.seconds:.1f} s",
                flush=True,
            )
            rng = random.Random(7)
            plans = {
                name: request_plan(dataset.readers[name], args.requests, rng) for name in ("active", "quiet")
            }
            measured = await measure(dataset, folder, plans, args.concurrency, args.rounds)
            ours = {name: measured[("ours", name)] for name in plans}
            bare = {name: measured[("bare", name)] for name in plans}
        finally:
            if backend == "postgresql":
                await drop_postgres_database(dataset.database_url)
    worst = 0.0
    for name in ("active", "quiet"):
        print(
            f"[{backend}] {name:6} reader  plein p50 {ours[name][0]:7.2f} ms  p99 {ours[name][1]:7.2f} ms   "
            f"bare p50 {bare[name][0]:7.2f} ms  p99 {bare[name][1]:7.2f} ms   ratio {ours[name][1] / bare[name][1]:.2f}",
            flush=True,
        )
        worst = max(worst, ours[name][1] / bare[name][1])
    quiet_vs_active = ours["quiet"][1] / ours["active"][1]
    print(
        f"[{backend}] plein quiet p99 / active p99 = {quiet_vs_active:.2f} (must stay within 2)", flush=True
    )
    return worst


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--statuses", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--rounds", type=int, default=5, help="alternations between the two servers")
    args = parser.parse_args()
    print(
        f"home timeline, {args.concurrency} concurrent clients, {args.requests} requests per reader and server, "
        f"limit={PAGE_LIMIT}, {os.cpu_count()} CPUs",
        flush=True,
    )
    ratios = [await bench_backend(backend, args) for backend in args.backends.split(",")]
    print(f"RATIO {max(ratios):.2f}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_serve":
        serve(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    else:
        asyncio.run(main())
