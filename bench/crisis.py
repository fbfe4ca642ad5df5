"""Benchmark: the national crisis — one account followed from 3,000 instances posts 50 times while the inbox
takes 100 activities/s and 200 streaming clients watch.

Run from the repository root: ``python bench/crisis.py [--backend sqlite|postgres|both] [--full]
[--minutes 2] [--posts 10] [--hosts 3000] [--inbox-rate 100] [--streams 200]``. ``--full`` is the real
crisis: 50 posts in 10 minutes. The default, 10 posts in 2 minutes, keeps its pace (a post every 12 s, the
inbox at 100/s) and shortens it, so a run fits a few minutes on 2 cores. Compressing the 50 posts into
2 minutes (``--posts 50``) asks for five times the real delivery rate (1,250 deliveries/s): that measures
how far beyond the crisis the machine holds, not the crisis.

Set-up, all on this machine:

* **the farm** (its own process): ``--hosts`` remote instances, each a distinct host — its own loopback
  address (127.0.1.1, 127.0.1.2, …, 250 per /24, from 127.0.1.0/24 on: one asyncio TLS server per address,
  all on one port, so 3,000 listening sockets, not 3,000 processes; ``ulimit -n`` must cover them plus one
  kept-alive connection per host and delivering process) with its own shared inbox ``/inbox``. TLS with a
  private CA made for the run (``tests/support/tls.PrivateCA``; one P-256 leaf per 100 addresses, listed as
  IP SANs) that Plein trusts through ``federation.ca_bundle``. Every POST's HTTP signature is verified (the
  keys are handed to the farm up front) and recorded per host and activity id, so lost and duplicated
  deliveries are counted, not guessed. 1 % of the hosts fail: half never answer (Plein's 30 s deadline cuts
  them), half answer 500. The farm also serves the actor documents of 100 remote actors (on the first 100
  hosts) that send the inbox traffic;
* **Plein**: on SQLite one ``plein serve`` with its workers inside; on PostgreSQL two ``plein serve
  --no-workers`` and two ``plein worker`` on one database. The poster is followed by one account on every
  host (and by a second on every tenth host: deliveries go once per shared inbox), by the 50 local readers
  whose 200 streaming connections (WebSocket, ``stream=user``, 4 per reader, spread over the serve
  processes) watch its posts arrive, and it follows the 100 remote actors;
* **inbox traffic** (its own process): ``--inbox-rate`` signed ``Create(Note)`` per second from the 100
  remote actors to the shared inbox (one in five mentions the poster), for the whole posting period, spread
  over the serve processes; Plein fetches each actor's key from the farm over TLS on first sight;
* **the poster** (this process): ``--posts`` posts through ``POST /api/v1/statuses``, evenly spaced over
  ``--minutes``.

Printed per backend: post p50 / p99 (target p99 ≤ 100 ms); per post, the time from the POST being sent to
the last healthy host's accepted delivery (p50 / p99 / max, target ≤ 5 s), the first post apart (it opens
every TLS connection; the later ones reuse them); TLS connections the farm accepted; inbox accept p50 / p99
and answers other than 202; streaming latency p50 / p99 (POST sent → event on each connection); deliveries
expected on the healthy hosts, accepted, still queued when the run stopped waiting (``--settle`` seconds
after the last post: late, not lost), lost (neither accepted nor queued) and duplicated (target 0 and 0);
Plein's CPU time per accepted delivery (from /proc, inbox and streams included); the machine's load average
(``/proc/loadavg``) before and after, since other engineers share the 2 cores.

**Baseline, in the same run** (before Plein starts, the farm already up): a bare aiohttp loop POSTs one
signed activity (draft-cavage, RSA — what Plein sends a host first) to every healthy host's shared inbox,
with Plein's delivery concurrency (``limits.delivery_concurrency`` in flight, ``per_host_concurrency`` per
host) over *fresh* connections: a full TLS handshake + signed POST per host, no database, no queue. Its
rate is what this machine can push to this farm at all. The last line is ``RATIO <ours ÷ bare>``: the median
post's delivery rate (healthy hosts ÷ seconds from POST to last delivery) divided by the bare loop's rate
(healthy hosts ÷ its seconds). Above 1 is possible: Plein keeps its connections alive between posts while
the bare loop pays every handshake; Plein also serves the inbox traffic and the streams meanwhile. With
``--backend both`` the RATIO is the lower of the two.

Figures: see docs/OPERATIONS.md (sizing).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import re
import secrets
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the repository before bench/: bench/inbox.py would hide the `inbox` package
sys.path.insert(1, str(ROOT / "tests"))

import aiohttp  # noqa: E402
import orjson  # noqa: E402

from bench.support.databases import create_postgres_database, drop_postgres_database  # noqa: E402
from bench.support.processes import free_port  # noqa: E402

PLEIN_BIN = Path(sys.executable).parent / "plein"
MARKER = re.compile(rb"crisis-(\d+)-end")
HOSTS_PER_CERTIFICATE = 100
INBOX_ACTORS = 100
ACTOR_KEYS = 10  # RSA keys shared by the inbox actors (each has its own key id): key generation is slow
READERS = 50
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


# ---- the farm (its own process) -----------------------------------------------------------------------


@dataclass
class FarmPlan:
    """Everything the farm process needs, picklable."""

    addresses: list[str]
    port: int
    control_port: int
    certificates: list[tuple[str, str]]  # (certificate, key) per HOSTS_PER_CERTIFICATE addresses
    keys: dict[str, tuple[str, str]]  # key id → (owner, public PEM) of senders the farm trusts
    actors: dict[str, bytes]  # "address|path" → actor document of the inbox-traffic actors
    silent: set[int]  # hosts that never answer a delivery
    failing: set[int]  # hosts that answer 500


def farm_main(plan: FarmPlan) -> None:
    asyncio.run(_farm(plan))


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, dict[str, str], bytes] | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, ssl.SSLError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    try:
        body = await reader.readexactly(length) if length else b""
    except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
        return None
    return method, path, headers, body


def _response(status: int, body: bytes = b"", content_type: str = "application/json") -> bytes:
    reason = {200: "OK", 202: "Accepted", 401: "Unauthorized", 404: "Not Found", 500: "Internal Server Error"}
    head = f"HTTP/1.1 {status} {reason.get(status, 'X')}\r\nContent-Length: {len(body)}\r\n"
    if body:
        head += f"Content-Type: {content_type}\r\n"
    return head.encode() + b"\r\n" + body


async def _farm(plan: FarmPlan) -> None:
    from apub.errors import ApubError, KeyUnavailable
    from apub.httpsig import PublicKeyRecord, verify_request
    from apub.keys import load_public_key

    records = {
        key_id: PublicKeyRecord(key_id, owner, load_public_key(pem))
        for key_id, (owner, pem) in plan.keys.items()
    }

    async def lookup(key_id: str, *, refresh: bool = False) -> PublicKeyRecord:
        try:
            return records[key_id]
        except KeyError:
            raise KeyUnavailable(key_id) from None

    # activity id → host index → accepted deliveries; activity id → last accepted (time.time())
    received: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    last: dict[str, float] = {}
    counters = {"connections": 0, "refused": 0, "answered_500": 0, "held": 0, "actor_gets": 0}

    def serve_host(index: int, address: str) -> Any:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            counters["connections"] += 1
            try:
                while (request := await _read_request(reader)) is not None:
                    method, path, headers, body = request
                    if method == "GET":
                        document = plan.actors.get(f"{address}|{path}")
                        counters["actor_gets"] += 1
                        writer.write(
                            _response(200, document, "application/activity+json")
                            if document
                            else _response(404)
                        )
                    elif index in plan.silent:
                        counters["held"] += 1
                        await asyncio.sleep(3600)
                    elif index in plan.failing:
                        counters["answered_500"] += 1
                        writer.write(_response(500, b'{"error":"down"}'))
                    else:
                        url = f"https://{address}:{plan.port}{path}"
                        try:
                            await verify_request("POST", url, headers, body, lookup)
                        except ApubError:
                            counters["refused"] += 1
                            writer.write(_response(401))
                        else:
                            activity = orjson.loads(body)["id"]
                            received[activity][index] += 1
                            last[activity] = time.time()
                            writer.write(_response(202))
                    await writer.drain()
            except (ConnectionError, ssl.SSLError):
                pass
            finally:
                writer.close()

        return handle

    contexts = []
    for certificate, key in plan.certificates:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certificate, key)
        contexts.append(context)
    servers = [
        await asyncio.start_server(
            serve_host(index, address),
            address,
            plan.port,
            ssl=contexts[index // HOSTS_PER_CERTIFICATE],
            backlog=256,
        )
        for index, address in enumerate(plan.addresses)
    ]

    async def control(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await _read_request(reader) is not None:
            stats = {
                activity: {
                    "hosts": len(hosts),
                    "accepted": sum(hosts.values()),
                    "last": last[activity],
                }
                for activity, hosts in received.items()
            }
            writer.write(_response(200, orjson.dumps({**counters, "activities": stats})))
            await writer.drain()
        writer.close()

    servers.append(await asyncio.start_server(control, "127.0.0.1", plan.control_port))
    await asyncio.gather(*(server.serve_forever() for server in servers))


async def farm_stats(control: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session, session.get(f"{control}/stats") as response:
        return orjson.loads(await response.read())  # type: ignore[no-any-return]


# ---- inbox traffic (its own process) ---------------------------------------------------------------------


@dataclass
class InboxPlan:
    targets: list[str]  # the shared inbox URLs to POST to (one per serve process)
    signed_url: str  # the URL signatures name: the instance's public shared inbox
    actors: list[tuple[str, int]]  # actor URI, index of its key
    key_pems: list[str]
    poster: str
    rate: float
    seconds: float
    start_at: float  # time.time() to start sending


def inbox_main(plan: InboxPlan, results: Any) -> None:
    results.put(asyncio.run(_inbox_traffic(plan)))


async def _inbox_traffic(plan: InboxPlan) -> tuple[list[float], dict[int, int]]:
    from apub.httpsig import cavage
    from apub.keys import load_private_key

    keys = [load_private_key(pem) for pem in plan.key_pems]
    latencies: list[float] = []
    statuses: dict[int, int] = defaultdict(int)
    run = secrets.token_hex(4)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def send(number: int) -> None:
            actor, key = plan.actors[number % len(plan.actors)]
            note: dict[str, Any] = {
                "id": f"{actor}/statuses/{run}-{number}",
                "type": "Note",
                "attributedTo": actor,
                "content": f"<p>Situation report {number} from the region.</p>",
                "to": [PUBLIC],
                "cc": [f"{actor}/followers"],
                "published": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            if number % 5 == 0:
                note["cc"].append(plan.poster)
                note["tag"] = [{"type": "Mention", "href": plan.poster, "name": "@poster"}]
                note["content"] += f'<p><a href="{plan.poster}" class="u-url mention">@poster</a></p>'
            body = orjson.dumps(
                {
                    "@context": "https://www.w3.org/ns/activitystreams",
                    "id": f"{note['id']}/activity",
                    "type": "Create",
                    "actor": actor,
                    "object": note,
                    "to": note["to"],
                    "cc": note["cc"],
                }
            )
            headers = {"Content-Type": "application/activity+json"}
            headers.update(
                cavage.sign_request(
                    "POST", plan.signed_url, headers, body, key_id=f"{actor}#main-key", private_key=keys[key]
                )
            )
            started = time.perf_counter()
            try:
                async with session.post(
                    plan.targets[number % len(plan.targets)], data=body, headers=headers
                ) as r:
                    await r.read()
                    statuses[r.status] += 1
            except aiohttp.ClientError:
                statuses[0] += 1
                return
            latencies.append(time.perf_counter() - started)

        await asyncio.sleep(max(0.0, plan.start_at - time.time()))
        began = time.perf_counter()
        tasks = []
        for number in range(int(plan.rate * plan.seconds)):
            delay = began + number / plan.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(send(number)))
        await asyncio.gather(*tasks)
    return latencies, dict(statuses)


# ---- Plein's side --------------------------------------------------------------------------------------


def settings_for(
    folder: Path, port: int, database_url: str, ca_bundle: str, pool: tuple[int, int] | None = None
) -> Any:
    """The instance's settings; `pool` (pool_size, max_overflow) for PostgreSQL (see `fitting_pool`)."""
    from plein.config import load_settings

    sized = {} if pool is None else {"database.pool_size": pool[0], "database.max_overflow": pool[1]}
    return load_settings(
        None,
        overrides={
            "instance.domain": f"127.0.0.1:{port}",
            "instance.base_url": f"http://127.0.0.1:{port}",
            "server.listen_port": port,
            "server.data_dir": str(folder),
            "server.log_level": "warning",
            "database.url": database_url,
            "federation.allow_private_addresses": ["127.0.0.0/8"],
            "federation.ca_bundle": ca_bundle,
            "secrets.secret_key": "bench-secret-not-for-production",
            **sized,
        },
    )


async def fitting_pool(database_url: str) -> tuple[int, int]:
    """A pool with which the four Plein processes fit under the server's max_connections, a few left for
    this script's own queries: the defaults (20 + 5) overflowed PostgreSQL's 100 and lost work (#17)."""
    from storage.db import Database
    from storage.pool_sizing import SCALE_OUT_PROCESSES, connection_budget

    db = Database(database_url, pool_size=1, max_overflow=0)
    try:
        budget = await connection_budget(db)
    finally:
        await db.dispose()
    return budget.pool_for(SCALE_OUT_PROCESSES, spare=5)


@dataclass
class Seeded:
    token: str
    reader_tokens: list[str]
    poster_uri: str
    farm_keys: dict[str, tuple[str, str]]


async def seed(settings: Any, host_urls: list[str], actors: list[tuple[str, str, str]]) -> Seeded:
    """The poster, its followers (one per host, a second on every tenth), the local readers following it,
    the remote actors it follows (uri, host, public PEM), and tokens."""
    from plein.app import build_context, close_context
    from storage.accounts import create_local_account, ed25519_public_pem, signing_keys, user_for_account
    from storage.models import Account, Follow
    from storage.oauth import create_app, create_token
    from storage.urls import LocalUrls

    ctx = await build_context(settings)
    try:
        async with ctx.db.transaction() as session:
            urls = LocalUrls(ctx.base_url)
            poster = await create_local_account(session, urls, username="poster", password_hash="x")
            app, _ = await create_app(
                session,
                name="bench",
                redirect_uris=["urn:ietf:wg:oauth:2.0:oob"],
                scopes="read write",
                website=None,
            )
            user = await user_for_account(session, poster.id)
            _, token = await create_token(session, app=app, user=user, scopes="read write")
            reader_tokens = []
            readers = []
            for index in range(READERS):
                reader = await create_local_account(
                    session, urls, username=f"reader{index}", password_hash="x"
                )
                _, reader_token = await create_token(
                    session, app=app, user=await user_for_account(session, reader.id), scopes="read"
                )
                readers.append(reader)
                reader_tokens.append(reader_token)
            followers = []
            for index, base in enumerate(host_urls):
                for copy in range(2 if index % 10 == 0 else 1):
                    uri = f"{base}/users/f{copy}"
                    followers.append(
                        Account(
                            username=f"f{copy}",
                            domain=base.split("/")[2],
                            uri=uri,
                            inbox_url=f"{uri}/inbox",
                            shared_inbox_url=f"{base}/inbox",
                        )
                    )
            followed = [
                Account(
                    username=uri.rsplit("/", 1)[1],
                    domain=domain,
                    uri=uri,
                    inbox_url=f"{uri}/inbox",
                    shared_inbox_url=f"https://{domain}/inbox",
                    followers_url=f"{uri}/followers",
                    public_key_id=f"{uri}#main-key",
                    public_key_pem=pem,
                )
                for uri, domain, pem in actors
            ]
            session.add_all(followers + followed)
            await session.flush()
            session.add_all(
                Follow(account_id=account.id, target_account_id=poster.id) for account in followers
            )
            session.add_all(Follow(account_id=reader.id, target_account_id=poster.id) for reader in readers)
            session.add_all(
                Follow(account_id=poster.id, target_account_id=account.id) for account in followed
            )
            poster.followers_count = len(followers) + len(readers)
            poster.following_count = len(followed)
            for reader in readers:
                reader.following_count = 1
            keys = await signing_keys(session, poster)
            ed_pem = await ed25519_public_pem(session, poster.id)
    finally:
        await close_context(ctx)
    return Seeded(
        token=token,
        reader_tokens=reader_tokens,
        poster_uri=keys.actor_uri,
        farm_keys={
            keys.rsa_key_id: (keys.actor_uri, poster.public_key_pem or ""),
            keys.ed25519_key_id: (keys.actor_uri, ed_pem or ""),
        },
    )


@contextlib.contextmanager
def plein_processes(config: Path, folder: Path, backend: str, ports: list[int]) -> Any:
    """SQLite: one `plein serve` (workers inside). PostgreSQL: two `serve --no-workers`, two `worker`."""
    commands = (
        [["serve", "--port", str(ports[0])]]
        if backend == "sqlite"
        else [["serve", "--no-workers", "--port", str(port)] for port in ports] + [["worker"], ["worker"]]
    )
    processes = []
    try:
        for number, command in enumerate(commands):
            log = (folder / f"plein-{number}.log").open("wb")
            processes.append(
                subprocess.Popen(
                    [str(PLEIN_BIN), "--config", str(config), *command],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=folder,
                    # This checkout's code, whichever checkout the virtualenv's editable install points at.
                    env={**os.environ, "PYTHONPATH": str(ROOT)},
                )
            )
        yield processes
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def wait_ready(base_urls: list[str], processes: list[subprocess.Popen[bytes]], folder: Path) -> None:
    async with aiohttp.ClientSession() as session:
        for base_url in base_urls:
            # Start-up is not measured: migrating a new PostgreSQL database alone takes half a minute on a
            # loaded machine, so wait up to five minutes.
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                if any(process.poll() is not None for process in processes):
                    logs = "\n".join(path.read_text()[-2000:] for path in folder.glob("plein-*.log"))
                    raise RuntimeError(f"a Plein process exited during start-up:\n{logs}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(f"{base_url}/readyz") as response:
                        if response.status == 200:
                            break
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError(f"{base_url} did not become ready")


# ---- streaming clients ---------------------------------------------------------------------------------


@dataclass
class Arrivals:
    times: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))

    def heard(self, message: bytes) -> None:
        now = time.perf_counter()
        for match in MARKER.finditer(message):
            self.times[int(match.group(1))].append(now)


async def open_streams(
    base_urls: list[str], tokens: list[str], count: int, arrivals: Arrivals, stack: contextlib.AsyncExitStack
) -> list[asyncio.Task[None]]:
    import websockets

    tasks = []
    for index in range(count):
        base = base_urls[index % len(base_urls)].replace("http://", "ws://")
        url = f"{base}/api/v1/streaming?stream=user&access_token={tokens[index % len(tokens)]}"
        socket = await stack.enter_async_context(websockets.connect(url, max_size=None))

        async def read(socket: Any = socket) -> None:
            with contextlib.suppress(websockets.ConnectionClosed):
                async for message in socket:
                    arrivals.heard(message.encode() if isinstance(message, str) else message)

        tasks.append(asyncio.create_task(read()))
    return tasks


# ---- the bare baseline ---------------------------------------------------------------------------------


async def bare_fanout(
    inboxes: list[str], body: bytes, key_id: str, private_pem: str, context: ssl.SSLContext, limits: Any
) -> float:
    """Seconds to POST `body`, signed per request, to every inbox over fresh TLS connections."""
    from apub.httpsig import cavage
    from apub.keys import load_private_key

    private_key = load_private_key(private_pem)
    in_flight = asyncio.Semaphore(limits.delivery_concurrency)
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=limits.per_host_concurrency, ssl=context)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def post(url: str) -> None:
            async with in_flight:
                headers = {"Content-Type": "application/activity+json"}
                headers.update(
                    cavage.sign_request("POST", url, headers, body, key_id=key_id, private_key=private_key)
                )
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    if response.status != 202:
                        raise RuntimeError(f"bare loop: {url} answered {response.status}")

        started = time.perf_counter()
        await asyncio.gather(*(post(url) for url in inboxes))
        return time.perf_counter() - started


# ---- one backend ---------------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


@dataclass
class Outcome:
    backend: str
    ratio: float
    lines: list[str]


async def run_backend(backend: str, args: argparse.Namespace, folder: Path, world: dict[str, Any]) -> Outcome:
    from plein.config import settings_to_toml

    ports = [free_port() for _ in range(1 if backend == "sqlite" else 2)]
    base_urls = [f"http://127.0.0.1:{port}" for port in ports]
    data = folder / backend
    data.mkdir()
    database_url = (
        f"sqlite+aiosqlite:///{data}/plein.db"
        if backend == "sqlite"
        else await create_postgres_database("plein_bench_crisis")
    )
    load_before = load_average()
    lines = [f"== {backend}: load average before {load_before}"]
    try:
        pool = None if backend == "sqlite" else await fitting_pool(database_url)
        settings = settings_for(data, ports[0], database_url, world["ca"], pool)
        if pool is not None:
            lines.append(f"pool per process: pool_size {pool[0]} + max_overflow {pool[1]} (fits 4 processes)")
        seeded = await seed(settings, world["host_urls"], world["actor_rows"])
        config = data / "plein.toml"
        config.write_text(settings_to_toml(settings))
        control = world["control"]
        plan = FarmPlan(
            addresses=world["addresses"],
            port=world["port"],
            control_port=int(control.rsplit(":", 1)[1]),
            certificates=world["certificates"],
            keys={**seeded.farm_keys, **world["bare_keys"]},
            actors=world["actor_documents"],
            silent=world["silent"],
            failing=world["failing"],
        )
        spawn = multiprocessing.get_context("spawn")
        farm = spawn.Process(target=farm_main, args=(plan,), daemon=True)
        farm.start()
        try:
            for _ in range(600):
                with contextlib.suppress(aiohttp.ClientError):
                    await farm_stats(control)
                    break
                if not farm.is_alive():
                    raise RuntimeError("the farm exited during start-up")
                await asyncio.sleep(0.1)
            outcome = await _measure(
                backend, args, data, config, settings, seeded, ports, base_urls, world, lines
            )
        finally:
            farm.terminate()
            farm.join()
    finally:
        if backend == "postgres":
            await drop_postgres_database(database_url)
    lines.extend(log_summary(data))
    lines.append(f"   load average after {load_average()}")
    return Outcome(backend, outcome, lines)


def log_summary(folder: Path, shown: int = 5) -> list[str]:
    """The Plein processes' warnings and errors, grouped by message: an inbox answer of 500 or a stalled
    delivery is explained here, since the run's folder is removed at the end."""
    counts: dict[str, int] = defaultdict(int)
    for path in folder.glob("plein-*.log"):
        for line in path.read_text(errors="replace").splitlines():
            if re.search(r"\b(WARNING|ERROR|CRITICAL)\b|Traceback|Error:", line):
                counts[re.sub(r"\d+", "N", line.strip())[:160]] += 1
    if not counts:
        return ["   Plein logs: no warning or error"]
    top = sorted(counts.items(), key=lambda item: -item[1])[:shown]
    return ["   Plein logs, most frequent warnings and errors:"] + [f"     {n} x {text}" for text, n in top]


async def _measure(
    backend: str,
    args: argparse.Namespace,
    data: Path,
    config: Path,
    settings: Any,
    seeded: Seeded,
    ports: list[int],
    base_urls: list[str],
    world: dict[str, Any],
    lines: list[str],
) -> float:
    healthy = world["healthy"]
    healthy_inboxes = [f"{world['host_urls'][index]}/inbox" for index in sorted(healthy)]
    control = world["control"]

    # The baseline first, on the quiet farm: fresh TLS connections, one signed POST per healthy host.
    bare_body = orjson.dumps(
        {"id": f"https://bare.invalid/{backend}", "type": "Create", "actor": "https://bare.invalid/actor"}
    )
    bare_seconds = await bare_fanout(
        healthy_inboxes,
        bare_body,
        world["bare_key_id"],
        world["bare_pem"],
        world["client_tls"],
        settings.limits,
    )
    bare_rate = len(healthy_inboxes) / bare_seconds
    lines.append(
        f"   bare TLS handshake + signed POST to {len(healthy_inboxes)} hosts: {bare_seconds:.2f} s, "
        f"{bare_rate:.0f} deliveries/s"
    )

    with plein_processes(config, data, backend, ports) as processes:
        await wait_ready(base_urls, processes, data)
        arrivals = Arrivals()
        async with contextlib.AsyncExitStack() as stack:
            streams = await open_streams(base_urls, seeded.reader_tokens, args.streams, arrivals, stack)
            period = args.minutes * 60
            spawn = multiprocessing.get_context("spawn")
            results = spawn.Queue()
            inbox_plan = InboxPlan(
                targets=[f"{url}/inbox" for url in base_urls],
                signed_url=f"{settings.base_url}/inbox",
                actors=[(uri, index % ACTOR_KEYS) for index, (uri, _, _) in enumerate(world["actor_rows"])],
                key_pems=world["actor_private_pems"],
                poster=seeded.poster_uri,
                rate=args.inbox_rate,
                seconds=period,
                start_at=time.time() + 2.0,
            )
            traffic = spawn.Process(target=inbox_main, args=(inbox_plan, results), daemon=True)
            traffic.start()
            await asyncio.sleep(max(0.0, inbox_plan.start_at - time.time()))

            post_seconds: list[float] = []
            sent_at: dict[int, tuple[float, float]] = {}  # post → (time.time(), perf_counter) when sent
            activities: dict[int, str] = {}
            headers = {"Authorization": f"Bearer {seeded.token}"}
            interval = period / args.posts
            cpu_before = sum(cpu_seconds(process.pid) for process in processes)
            began = time.perf_counter()
            async with aiohttp.ClientSession(headers=headers) as session:
                for number in range(args.posts):
                    await asyncio.sleep(max(0.0, began + number * interval - time.perf_counter()))
                    text = f"crisis-{number}-end Official notice {number}: stay indoors, listen to the radio."
                    sent_at[number] = (time.time(), time.perf_counter())
                    async with session.post(
                        f"{base_urls[0]}/api/v1/statuses", data={"status": text}
                    ) as response:
                        answer = await response.read()
                        post_seconds.append(time.perf_counter() - sent_at[number][1])
                        if response.status != 200:
                            raise RuntimeError(f"post {number}: {response.status} {answer[:300]!r}")
                    activities[number] = f"{orjson.loads(answer)['uri']}/activity"
            lines.append(f"   {args.posts} posts sent over {time.perf_counter() - began:.0f} s")

            stream_deadline = time.monotonic() + 30
            while time.monotonic() < stream_deadline and any(
                len(arrivals.times[n]) < args.streams for n in activities
            ):
                await asyncio.sleep(0.2)
            for task in streams:
                task.cancel()
            traffic.join(timeout=args.settle)
            inbox_latencies, inbox_statuses = results.get(timeout=60) if not results.empty() else ([], {})

            # Every healthy host must hold every post, once: wait for the queue to get there.
            deadline = time.monotonic() + args.settle
            while True:
                stats = await farm_stats(control)
                done = [stats["activities"].get(activities[n], {}).get("hosts", 0) for n in activities]
                if min(done) >= len(healthy) or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.5)
            cpu = sum(cpu_seconds(process.pid) for process in processes) - cpu_before
            stats = await farm_stats(control)
            healthy_hosts = {world["addresses"][index] + f":{world['port']}" for index in healthy}
            queued, queue_state = await queue_summary(database_url_of(settings), healthy_hosts)

    fanouts = []
    missing = duplicated = accepted_total = 0
    for number, activity in activities.items():
        entry = stats["activities"].get(activity, {"hosts": 0, "accepted": 0, "last": float("nan")})
        missing += len(healthy) - entry["hosts"]
        accepted_total += entry["accepted"]
        duplicated += entry["accepted"] - entry["hosts"]
        if entry["hosts"] >= len(healthy):
            fanouts.append(entry["last"] - sent_at[number][0])
    stream_latencies = [
        arrived - sent_at[number][1] for number in activities for arrived in arrivals.times.get(number, [])
    ]
    stream_missing = sum(max(0, args.streams - len(arrivals.times.get(n, []))) for n in activities)
    later = fanouts[1:] or fanouts
    ms = 1000
    lines += [
        f"   post (POST /api/v1/statuses): p50 {percentile(post_seconds, 0.5) * ms:.0f} ms, "
        f"p99 {percentile(post_seconds, 0.99) * ms:.0f} ms (target p99 <= 100 ms)",
        f"   fan-out to the last of {len(healthy)} healthy hosts (of {len(world['addresses'])}; "
        f"{len(world['silent'])} silent, {len(world['failing'])} answering 500): first post "
        f"{fanouts[0] if fanouts else float('nan'):.2f} s; posts 2..: p50 {percentile(later, 0.5):.2f} s, "
        f"p99 {percentile(later, 0.99):.2f} s, max {max(later, default=float('nan')):.2f} s "
        "(target <= 5 s per post)",
        f"   farm: {stats['connections']} TLS connections accepted, {stats['refused']} signatures refused, "
        f"{stats['answered_500']} answers 500, {stats['held']} requests held unanswered",
        f"   inbox: {sum(inbox_statuses.values())} activities at {args.inbox_rate:.0f}/s, answers {inbox_statuses}; "
        f"accept p50 {percentile(inbox_latencies, 0.5) * ms:.0f} ms, p99 {percentile(inbox_latencies, 0.99) * ms:.0f} ms",
        f"   streaming ({args.streams} connections): p50 {percentile(stream_latencies, 0.5) * ms:.0f} ms, "
        f"p99 {percentile(stream_latencies, 0.99) * ms:.0f} ms; events missing {stream_missing}",
        f"   deliveries to healthy hosts: {len(healthy) * len(activities)} expected, "
        f"{len(healthy) * len(activities) - missing} accepted, {queued} still queued when the run ended "
        f"({args.settle:.0f} s after the last post), lost {max(0, missing - queued)}, duplicated {duplicated} "
        "(target 0 and 0)",
        f"   queue when the run ended: {queue_state}",
        f"   Plein's CPU from the first post to the end: {cpu:.1f} s "
        f"({cpu * 1000 / max(1, accepted_total):.2f} ms per delivery accepted, inbox and streams included)",
    ]
    ours_rate = len(healthy) / statistics.median(fanouts) if fanouts else 0.0
    lines.append(
        f"   ours: median post {ours_rate:.0f} deliveries/s; ours ÷ bare {ours_rate / bare_rate:.2f}"
    )
    return ours_rate / bare_rate


def database_url_of(settings: Any) -> str:
    return str(settings.database_url)


async def queue_summary(database_url: str, healthy_hosts: set[str]) -> tuple[int, str]:
    """Delivery jobs to healthy hosts not finished yet (late, not lost), and the queue by kind and state
    (retries to the failing hosts are expected)."""
    from sqlalchemy import func, select

    from storage.db import Database
    from storage.models import Job

    db = Database(database_url)
    try:
        async with db.read() as session:
            rows = (
                await session.execute(
                    select(Job.queue, Job.state, func.count()).group_by(Job.queue, Job.state)
                )
            ).all()
            unfinished = await session.scalars(
                select(Job.host).where(Job.queue == "deliver", Job.state.in_(("pending", "running")))
            )
            queued = sum(1 for host in unfinished if host in healthy_hosts)
    finally:
        await db.dispose()
    return queued, ", ".join(f"{queue}/{state}: {count}" for queue, state, count in rows)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---- the world: addresses, certificates, keys ----------------------------------------------------------


def build_world(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    from cryptography.hazmat.primitives.asymmetric import rsa

    from apub.keys import private_key_to_pem, public_key_pem_from_private_pem
    from support.tls import PrivateCA

    addresses = [f"127.0.{1 + index // 250}.{1 + index % 250}" for index in range(args.hosts)]
    port = args.port
    ca = PrivateCA(folder)
    certificates = []
    for start in range(0, len(addresses), HOSTS_PER_CERTIFICATE):
        leaf = ca.issue(*addresses[start : start + HOSTS_PER_CERTIFICATE])
        certificates.append((str(leaf.certificate), str(leaf.key)))
    host_urls = [f"https://{address}:{port}" for address in addresses]
    broken = max(1, round(args.hosts * args.failing_percent / 100))
    broken_hosts = list(range(args.hosts - broken, args.hosts))
    silent = set(broken_hosts[: broken // 2])
    failing = set(broken_hosts[broken // 2 :])
    healthy = set(range(args.hosts)) - silent - failing

    keys = [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(ACTOR_KEYS + 1)]
    pems = [private_key_to_pem(key) for key in keys]
    public = [public_key_pem_from_private_pem(pem) for pem in pems]
    actor_rows = []
    documents = {}
    for index in range(min(INBOX_ACTORS, len(healthy))):
        address = addresses[index]
        uri = f"{host_urls[index]}/users/a{index}"
        pem = public[index % ACTOR_KEYS]
        documents[f"{address}|/users/a{index}"] = orjson.dumps(
            {
                "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
                "id": uri,
                "type": "Person",
                "preferredUsername": f"a{index}",
                "inbox": f"{uri}/inbox",
                "followers": f"{uri}/followers",
                "endpoints": {"sharedInbox": f"{host_urls[index]}/inbox"},
                "publicKey": {"id": f"{uri}#main-key", "owner": uri, "publicKeyPem": pem},
            }
        )
        actor_rows.append((uri, f"{address}:{port}", pem))
    client_tls = ssl.create_default_context()
    client_tls.load_verify_locations(cafile=str(ca.certificate))
    bare_key_id = "https://bare.invalid/actor#main-key"
    return {
        "addresses": addresses,
        "port": port,
        "control": f"http://127.0.0.1:{free_port()}",
        "ca": str(ca.certificate),
        "certificates": certificates,
        "host_urls": host_urls,
        "silent": silent,
        "failing": failing,
        "healthy": healthy,
        "actor_rows": actor_rows,
        "actor_documents": documents,
        "actor_private_pems": pems[:ACTOR_KEYS],
        "bare_key_id": bare_key_id,
        "bare_pem": pems[ACTOR_KEYS],
        "bare_keys": {bare_key_id: ("https://bare.invalid/actor", public[ACTOR_KEYS])},
        "client_tls": client_tls,
    }


async def main(args: argparse.Namespace) -> None:
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    print(
        f"crisis: {args.hosts} hosts, {args.posts} posts in {args.minutes:g} min, inbox {args.inbox_rate:g}/s, "
        f"{args.streams} streams; ulimit -n {_open_files_limit()}"
    )
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="plein-bench-crisis-") as name:
        folder = Path(name)
        world = build_world(args, folder)
        for backend in backends:
            outcome = await run_backend(backend, args, folder, world)
            print("\n".join(outcome.lines), flush=True)
            outcomes.append(outcome)
    print(f"RATIO {min(outcome.ratio for outcome in outcomes):.2f}")


def _open_files_limit() -> int:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:  # the farm holds a listening socket per host plus a connection per host and process
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--full", action="store_true", help="the real crisis: 50 posts in 10 minutes")
    parser.add_argument("--minutes", type=float, default=2.0, help="the posting period")
    parser.add_argument("--posts", type=int, default=10)
    parser.add_argument("--hosts", type=int, default=3000)
    parser.add_argument("--inbox-rate", type=float, default=100.0)
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--failing-percent", type=float, default=1.0)
    parser.add_argument("--port", type=int, default=8443, help="the farm's port on every host address")
    parser.add_argument(
        "--settle", type=float, default=120.0, help="seconds to wait for deliveries to finish"
    )
    arguments = parser.parse_args()
    if arguments.full:
        arguments.minutes, arguments.posts = 10.0, 50
    os.environ.pop("PLEIN_CONFIG", None)
    asyncio.run(main(arguments))
