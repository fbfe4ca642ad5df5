"""Benchmark: signed deliveries accepted by a running `plein serve` vs a bare verify-only endpoint.

Run from the repository root: ``python bench/inbox.py`` (under a minute on 2 cores); ``BENCH_SPLIT=1`` serves
with ``--no-workers`` next to a ``plein worker`` process instead (the scale-out layout); ``BENCH_REQUESTS``
and ``BENCH_ROUNDS`` change the batch size and the number of rounds. In the same run:

(a) a real ``plein serve`` subprocess (SQLite default, queue workers inside it, as deployed) receives
    ``REQUESTS`` signed ``Create(Note)`` deliveries from ``ACTORS`` remote actors (served by a small fake
    remote in this process), ``CONCURRENCY`` in flight, on its shared inbox; every answer must be 202;
(b) a bare Starlette app in its own uvicorn subprocess whose only route reads the body and runs
    ``apub.httpsig.verify_request`` with an in-memory key table, answering 202, receives the same
    deliveries (signed for its URL).

Both receive one warm-up delivery per actor first (so Plein has fetched and stored every key). Then
``ROUNDS`` rounds: the verify-only endpoint gets the timed batch, then Plein a batch of fresh activities
(timed until the last 202, then until its worker has processed every delivery: statuses, fan-out rows,
notifications), and so on, ending with the verify-only endpoint. Each Plein round is compared with the mean
of the verify-only runs right before and after it, because the speed of this shared box drifts by tens of
percent from one second to the next. Per round it prints both rates, the worker's time and jobs/s, and
Plein's CPU time per delivery (from /proc); last ``RATIO <median round's plein accepted/s ÷ verify-only/s>``
(target >= 0.6). Requests are signed before timing starts; the load generator is aiohttp.

Figures on the 2-core dev box, rounds of 3 000 deliveries, workers inside:

* first version (one write transaction and two policy reads per delivery): 88 accepted/s, RATIO 0.07;
* group commit, batched note storage, cached permissive policy (end of the first session): idle box RATIO
  0.23-0.35 (CPU per delivery 0.50-0.54 ms while accepting, the verify-only endpoint 0.12-0.17 ms);
* second session: the group commit runs inline on the event loop as one batch (`storage.sqlite_batch`: no
  thread hand-offs), the worker claims only once deliveries pause (`inbox.queueing.ClaimPacer`), the heap
  loaded at start-up is frozen out of the garbage collector's walks (`plein.cli.settle_heap`), the policy
  query and the job insert go straight to the driver, the body is read from the ASGI messages. Six runs
  of the final code on a quiet box: RATIO 0.557 / 0.645 / 0.652 / 0.670 / 0.670 / 0.609 (median 0.648;
  single rounds 0.46-0.87), Plein accepting 3 100-5 000/s against 5 500-7 800/s, CPU per delivery
  0.19-0.32 ms while accepting (verify-only ~0.11 ms); the worker stores each round's 3 000 statuses in
  2-3 s from the first delivery (850-1 300 jobs/s), after the burst.
  With ``BENCH_SPLIT=1`` the separate worker process shares the two cores with the load generator and the
  server while deliveries arrive: RATIO 0.38.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
import orjson  # noqa: E402
import uvicorn  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import Response  # noqa: E402
from starlette.routing import Route  # noqa: E402

REQUESTS = int(os.environ.get("BENCH_REQUESTS", 3000))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 5))
ACTORS = 30
CONCURRENCY = 64
REPO = Path(__file__).resolve().parent.parent
PLEIN = Path(sys.executable).parent / "plein"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- the verify-only server (runs in its own process) --------------------------------------------------------


def run_verify_server(port: int, keys_path: str) -> None:
    from apub.httpsig import PublicKeyRecord, verify_request
    from apub.keys import load_public_key

    table = {
        key_id: PublicKeyRecord(key_id=key_id, owner=owner, public_key=load_public_key(pem))
        for key_id, (owner, pem) in json.loads(Path(keys_path).read_text()).items()
    }

    async def lookup(key_id: str, *, refresh: bool = False) -> PublicKeyRecord:
        return table[key_id]

    base = f"http://127.0.0.1:{port}"

    async def inbox(request: Request) -> Response:
        body = await request.body()
        await verify_request("POST", f"{base}{request.url.path}", request.headers, body, lookup)
        return Response(status_code=202)

    app = Starlette(routes=[Route("/inbox", inbox, methods=["POST"])])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", server_header=False)


# --- the fake remote serving actor documents (in this process) ----------------------------------------------


class Remote:
    def __init__(self, actor_count: int) -> None:
        from apub.keys import private_key_to_pem, public_key_pem_from_private_pem

        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.actors: list[tuple[str, rsa.RSAPrivateKey]] = []
        self.documents: dict[str, bytes] = {}
        for index in range(actor_count):
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            uri = f"{self.base}/users/actor{index}"
            pem = public_key_pem_from_private_pem(private_key_to_pem(key))
            self.documents[f"/users/actor{index}"] = orjson.dumps(
                {
                    "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
                    "id": uri,
                    "type": "Person",
                    "preferredUsername": f"actor{index}",
                    "inbox": f"{uri}/inbox",
                    "followers": f"{uri}/followers",
                    "endpoints": {"sharedInbox": f"{self.base}/inbox"},
                    "publicKey": {"id": f"{uri}#main-key", "owner": uri, "publicKeyPem": pem},
                }
            )
            self.actors.append((uri, key))

    def key_table(self) -> dict[str, tuple[str, str]]:
        return {
            f"{uri}#main-key": (
                uri,
                orjson.loads(self.documents[uri.removeprefix(self.base)])["publicKey"]["publicKeyPem"],
            )
            for uri, _ in self.actors
        }

    async def handle(self, request: Request) -> Response:
        document = self.documents.get(request.url.path)
        if request.method == "POST":
            return Response(status_code=202)
        if document is None:
            return Response(status_code=404)
        return Response(document, media_type="application/activity+json")

    async def serve(self) -> tuple[uvicorn.Server, asyncio.Task[None]]:
        app = Starlette(routes=[Route("/{path:path}", self.handle, methods=["GET", "POST"])])
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        task = asyncio.get_running_loop().create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        return server, task


# --- deliveries ---------------------------------------------------------------------------------------------


def build_bodies(remote: Remote, alice_uri: str, count: int) -> list[tuple[str, rsa.RSAPrivateKey, bytes]]:
    bodies = []
    for index in range(count):
        uri, key = remote.actors[index % len(remote.actors)]
        note = {
            "id": f"{uri}/statuses/{index}",
            "type": "Note",
            "attributedTo": uri,
            "content": f'<p>Delivery number {index}, hello <a href="{alice_uri}" class="u-url mention">@alice</a></p>',
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "cc": [f"{uri}/followers", alice_uri],
            "tag": [{"type": "Mention", "href": alice_uri, "name": "@alice"}],
            "published": "2024-05-01T12:00:00Z",
        }
        activity = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{uri}/statuses/{index}/activity",
            "type": "Create",
            "actor": uri,
            "object": note,
            "to": note["to"],
            "cc": note["cc"],
        }
        bodies.append((uri, key, orjson.dumps(activity)))
    return bodies


def sign_all(
    url: str, bodies: list[tuple[str, rsa.RSAPrivateKey, bytes]]
) -> list[tuple[bytes, dict[str, str]]]:
    from apub.httpsig import cavage

    signed = []
    for uri, key, body in bodies:
        headers = {"Content-Type": "application/activity+json"}
        headers.update(
            cavage.sign_request("POST", url, headers, body, key_id=f"{uri}#main-key", private_key=key)
        )
        signed.append((body, headers))
    return signed


async def send_all(url: str, requests: list[tuple[bytes, dict[str, str]]]) -> float:
    """POST every request, CONCURRENCY in flight; returns the elapsed seconds. Every answer must be 202."""
    queue = list(reversed(requests))
    statuses: dict[int, int] = {}
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def sender() -> None:
            while queue:
                body, headers = queue.pop()
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    statuses[response.status] = statuses.get(response.status, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    if set(statuses) != {202}:
        raise SystemExit(f"{url}: unexpected answers {statuses}")
    return elapsed


def cpu_seconds(process: subprocess.Popen[bytes]) -> float:
    """User + system CPU time of a running process and all its threads, from /proc (Linux)."""
    fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(600):
            if process.poll() is not None:
                raise SystemExit(f"server exited:\n{log.read_text()}")
            try:
                async with session.get(url) as response:
                    if response.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit(f"{url} never became ready:\n{log.read_text()}")


async def failure_reasons(database_url: str) -> list[str]:
    from sqlalchemy import select

    from storage.db import Database
    from storage.models import Job

    db = Database(database_url)
    try:
        async with db.read() as session:
            rows = await session.execute(
                select(Job.last_error).distinct().where(Job.state == "failed").limit(5)
            )
            return [str(error)[:300] for error in rows.scalars()]
    finally:
        await db.dispose()


async def inbox_backlog(database_url: str) -> tuple[int, int, int]:
    """(waiting, failed, statuses) as the worker sees them, read from Plein's database."""
    from sqlalchemy import func, select

    from storage.db import Database
    from storage.models import Job, Status

    db = Database(database_url)
    try:
        async with db.read() as session:
            waiting = await session.scalar(
                select(func.count())
                .select_from(Job)
                .where(Job.queue == "inbox", Job.state.in_(("pending", "running")))
            )
            failed = await session.scalar(
                select(func.count()).select_from(Job).where(Job.queue == "inbox", Job.state == "failed")
            )
            statuses = await session.scalar(select(func.count()).select_from(Status))
    finally:
        await db.dispose()
    return int(waiting or 0), int(failed or 0), int(statuses or 0)


async def run(folder: Path) -> None:
    from plein.config import load_settings, settings_to_toml

    remote = Remote(ACTORS)
    remote_server, remote_task = await remote.serve()
    plein_port, verify_port = free_port(), free_port()
    base = f"http://127.0.0.1:{plein_port}"
    settings = load_settings(
        None,
        overrides={
            "instance.domain": f"127.0.0.1:{plein_port}",
            "instance.base_url": base,
            "server.listen_port": plein_port,
            "server.data_dir": str(folder / "data"),
            "server.log_level": "warning",
            "federation.allow_private_addresses": ["127.0.0.0/8"],
            "secrets.secret_key": "bench-secret",
        },
    )
    config = folder / "plein.toml"
    config.write_text(settings_to_toml(settings))
    env = {key: value for key, value in os.environ.items() if not key.startswith("PLEIN_")}
    subprocess.run(
        [str(PLEIN), "--config", str(config), "account", "create", "alice"],
        check=True,
        capture_output=True,
        env=env,
    )
    keys_path = folder / "keys.json"
    keys_path.write_text(json.dumps(remote.key_table()))
    plein_log, verify_log = folder / "plein.log", folder / "verify.log"
    split = os.environ.get("BENCH_SPLIT") == "1"
    plein = subprocess.Popen(
        [str(PLEIN), "--config", str(config), "serve", *(["--no-workers"] if split else [])],
        stdout=plein_log.open("wb"),
        stderr=subprocess.STDOUT,
        env=env,
    )
    workers = [plein]
    if split:  # the scale-out layout: HTTP in one process, queue workers in another
        worker_log = (folder / "worker.log").open("wb")
        workers.append(
            subprocess.Popen(
                [str(PLEIN), "--config", str(config), "worker"],
                stdout=worker_log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        )
    verify = subprocess.Popen(
        [sys.executable, __file__, "--verify-server", str(verify_port), str(keys_path)],
        stdout=verify_log.open("wb"),
        stderr=subprocess.STDOUT,
        cwd=REPO,
    )
    try:
        await wait_ready(f"{base}/readyz", plein, plein_log)
        await wait_ready(f"http://127.0.0.1:{verify_port}/", verify, verify_log)
        bodies = build_bodies(remote, f"{base}/users/alice", ACTORS + ROUNDS * REQUESTS)
        plein_requests = sign_all(f"{base}/inbox", bodies)
        verify_requests = sign_all(f"http://127.0.0.1:{verify_port}/inbox", bodies[: ACTORS + REQUESTS])
        # Warm-up: one delivery per actor, so every key is fetched and stored before timing.
        await send_all(f"{base}/inbox", plein_requests[:ACTORS])
        await send_all(f"http://127.0.0.1:{verify_port}/inbox", verify_requests[:ACTORS])
        while (await inbox_backlog(settings.database_url))[0]:
            await asyncio.sleep(0.1)

        # Rounds: the verify-only endpoint, then Plein with fresh activities until its worker is done (so the
        # two never share the CPU), and so on, ending with the verify-only endpoint. Each Plein round is
        # compared with the verify-only runs right before and after it, because other load on the box drifts.
        verify_url = f"http://127.0.0.1:{verify_port}/inbox"
        verify_cpu = cpu_seconds(verify)
        verify_seconds = [await send_all(verify_url, verify_requests[ACTORS:])]
        verify_cpu = cpu_seconds(verify) - verify_cpu
        rounds: list[Round] = []
        for index in range(ROUNDS):
            batch = plein_requests[ACTORS + index * REQUESTS : ACTORS + (index + 1) * REQUESTS]
            plein_cpu = cpu_seconds(plein)
            started = time.perf_counter()
            plein_seconds = await send_all(f"{base}/inbox", batch)
            accept_cpu = cpu_seconds(plein) - plein_cpu
            while True:
                waiting, failed, statuses = await inbox_backlog(settings.database_url)
                if not waiting:
                    break
                await asyncio.sleep(0.05)
            processed_seconds = time.perf_counter() - started
            total_cpu = cpu_seconds(plein) - plein_cpu
            verify_seconds.append(await send_all(verify_url, verify_requests[ACTORS:]))
            verify_rate = sum(REQUESTS / seconds for seconds in verify_seconds[-2:]) / 2
            rounds.append(
                Round(verify_rate, REQUESTS / plein_seconds, processed_seconds, accept_cpu, total_cpu)
            )
        for reason in await failure_reasons(settings.database_url):
            print(f"failed job: {reason}")
    finally:
        for process in (*workers, verify):
            process.terminate()
            process.wait(timeout=30)
        remote_server.should_exit = True
        await remote_task
    layout = "plein serve --no-workers + plein worker" if split else "plein serve (workers inside)"
    print(
        f"deliveries: {ROUNDS} rounds of {REQUESTS} signed Create(Note) from {ACTORS} actors, "
        f"{CONCURRENCY} in flight; {layout}"
    )
    for number, result in enumerate(rounds, 1):
        print(
            f"round {number}: verify-only {result.verify_rate:6.0f}/s, plein serve accepted {result.plein_rate:6.0f}/s "
            f"(ratio {result.ratio:.3f}); worker done {result.processed_seconds:.2f} s after the first delivery "
            f"({REQUESTS / result.processed_seconds:.0f} jobs/s)"
            + (
                ""
                if split
                else f"; CPU per delivery {1000 * result.accept_cpu / REQUESTS:.2f} ms accepting, "
                f"{1000 * result.total_cpu / REQUESTS:.2f} ms accepted and processed"
            )
        )
    print(f"verify-only CPU per delivery: {1000 * verify_cpu / REQUESTS:.2f} ms (first run)")
    print(f"{statuses} statuses stored (with the warm-up's), {failed} failed jobs")
    median = sorted(rounds, key=lambda result: result.ratio)[len(rounds) // 2]
    print(
        f"median round: verify-only {median.verify_rate:.0f}/s, plein serve accepted {median.plein_rate:.0f}/s, "
        f"worker {REQUESTS / median.processed_seconds:.0f} jobs/s"
    )
    print(f"RATIO {median.ratio:.3f}")


@dataclass
class Round:
    """One measured round: the verify-only rate around it, Plein's accepted rate, its worker's time and CPU."""

    verify_rate: float
    plein_rate: float
    processed_seconds: float
    accept_cpu: float
    total_cpu: float

    @property
    def ratio(self) -> float:
        return self.plein_rate / self.verify_rate


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--verify-server":
        run_verify_server(int(sys.argv[2]), sys.argv[3])
        return
    with tempfile.TemporaryDirectory(prefix="plein-bench-inbox-") as folder:
        asyncio.run(run(Path(folder)))


if __name__ == "__main__":
    main()
