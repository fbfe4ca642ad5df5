"""The delivery worker: one job = one stored activity POSTed to one inbox, signed at send time.

Outcomes (each recorded on the job row: tries, next try, last status, last error):

- 2xx: done.
- 410 Gone: done for good; the remote actor owning that inbox is marked gone (no more deliveries to it).
- 429 / 503: retried at `Retry-After` (seconds or an HTTP date), else with backoff.
- other 4xx (and 3xx): failed for good (the remote refuses this activity; retrying would not change its mind).
- 5xx, timeouts, connection errors: retried with exponential backoff and jitter; given up ~3 days after the
  job was created.
- a host we do not federate with (the client's outbound gate: `HostRefused`) or an unsafe address: failed for
  good, nothing sent.

Per-host concurrency is capped by the federation client (a semaphore per host). A host that fails
`BREAKER_THRESHOLD` times in a row is paused (circuit breaker in `delivery_hosts`): its jobs are put back to
wait until the pause ends instead of hammering it; the first answer from it closes the breaker again.
"""

from __future__ import annotations

import asyncio
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import orjson
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from sqlalchemy import select

from apub.client import FetchedResponse
from apub.errors import FetchError, HostRefused, UnsafeAddress
from apub.httpsig import SchemeMemory, SignatureAuth
from apub.httpsig.knock import scheme_host
from apub.keys import load_private_key
from storage.accounts import signing_keys
from storage.activities import activity_by_id
from storage.context import Context
from storage.delivery_hosts import load_host, mark_inbox_owners_gone, paused, record_failure, record_success
from storage.models import Account, DeliveryHost
from storage.queue import ClaimedJob, JobFailed, RetryJob
from storage.types import utcnow
from storage.worker import JobHandler

GIVE_UP_AFTER = timedelta(days=3)
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=6)
MAX_RETRY_AFTER = timedelta(days=1)
BREAKER_THRESHOLD = 8
HOST_STATE_TTL = timedelta(seconds=30)
SIGNERS_KEPT = 256
BODIES_KEPT = 64
CACHE_KEY = "outbox.deliver"

T = TypeVar("T")


def backoff(tries: int, *, rng: random.Random | None = None) -> timedelta:
    """Delay before try `tries + 1`: 30 s doubling per try, capped at 6 h, ±25 % jitter so retries of a
    big fan-out do not all land on the remote at the same second."""
    base = min(FIRST_RETRY * (2 ** max(tries - 1, 0)), MAX_RETRY)
    return base * (rng or random).uniform(0.75, 1.25)


def host_pause(excess_failures: int) -> timedelta:
    """How long a failing host stays paused: 5 min doubling with every further failure, at most 6 h."""
    return min(timedelta(minutes=5) * (2 ** min(excess_failures, 10)), MAX_RETRY)


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """A `Retry-After` header (seconds or HTTP date) as a delay, capped at a day; None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # `²` is a digit to `isdigit`; 30 digits overflow a timedelta
        return timedelta(seconds=min(int(value), int(MAX_RETRY_AFTER.total_seconds())))
    try:
        at = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return min(max(at - now, timedelta(0)), MAX_RETRY_AFTER)


@dataclass
class _HostState:
    failures: int
    paused_until: datetime | None
    checked_at: datetime


class _Lru(OrderedDict[Any, Any]):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def put(self, key: Any, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


class _SingleFlight:
    """One load per key at a time: callers asking for a key being loaded wait for that load (a fan-out
    starts dozens of jobs at once, all needing the same sender keys and body)."""

    def __init__(self) -> None:
        self._loading: dict[Any, asyncio.Future[Any]] = {}

    async def get(self, key: Any, load: Callable[[], Awaitable[T]]) -> T:
        loading = self._loading.get(key)
        if loading is not None:
            await asyncio.wait([loading])  # never cancels the load itself
            if not loading.cancelled():
                return loading.result()  # type: ignore[no-any-return]
        loading = self._loading[key] = asyncio.get_running_loop().create_future()
        try:
            value = await load()
        except Exception as error:
            loading.set_exception(error)
            loading.exception()  # marked retrieved: a failure nobody waited for is not logged as lost
            raise
        except BaseException:
            loading.cancel()
            raise
        finally:
            self._loading.pop(key, None)
        loading.set_result(value)
        return value


class Deliverer:
    """Delivers jobs of the `deliver` queue for one Context; keeps per-process caches of signers, rendered
    bodies and host states (the database stays the truth: caches expire or are only hints)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        # The process's one memory of what each host verifies, shared with signed fetches: only answers
        # that must have verified a signature teach it anything (apub.httpsig.knock).
        if ctx.scheme_memory is None:
            ctx.scheme_memory = SchemeMemory()
        self.scheme_memory: SchemeMemory = ctx.scheme_memory
        self._signers: _Lru = _Lru(SIGNERS_KEPT)
        self._bodies: _Lru = _Lru(BODIES_KEPT)
        self._loads = _SingleFlight()
        self._hosts: dict[str, _HostState] = {}
        self._host_loads: dict[str, asyncio.Future[_HostState]] = {}
        self._hosts_to_load: list[str] = []
        self._host_batches: set[asyncio.Task[None]] = set()

    def forget_host_states(self) -> None:
        """Drop cached host states so the next job of each host reads `delivery_hosts` again."""
        self._hosts.clear()

    async def _signer(self, sender_id: int) -> SignatureAuth:
        auth = self._signers.get(sender_id)
        if auth is not None:
            return auth
        return await self._loads.get(("signer", sender_id), lambda: self._load_signer(sender_id))

    async def _load_signer(self, sender_id: int) -> SignatureAuth:
        async with self.ctx.db.read() as session:
            sender = await session.get(Account, sender_id)
            if sender is None or sender.domain is not None:
                raise JobFailed(f"sender {sender_id} is not a local account")
            keys = await signing_keys(session, sender)
        rsa_key = load_private_key(keys.rsa_private_pem, ours=True)
        ed_key = load_private_key(keys.ed25519_private_pem, ours=True)
        assert isinstance(rsa_key, rsa.RSAPrivateKey) and isinstance(ed_key, ed25519.Ed25519PrivateKey)
        auth = SignatureAuth(
            keys.rsa_key_id,
            rsa_key,
            scheme_memory=self.scheme_memory,
            ed25519_key_id=keys.ed25519_key_id,
            ed25519_private_key=ed_key,
        )
        self._signers.put(sender_id, auth)
        return auth

    async def _body(self, activity_id: int) -> bytes:
        body = self._bodies.get(activity_id)
        if body is not None:
            return body
        return await self._loads.get(("body", activity_id), lambda: self._load_body(activity_id))

    async def _load_body(self, activity_id: int) -> bytes:
        async with self.ctx.db.read() as session:
            activity = await activity_by_id(session, activity_id)
        if activity is None:
            raise JobFailed(f"activity {activity_id} no longer exists")
        body = orjson.dumps(activity.payload)
        self._bodies.put(activity_id, body)
        return body

    def _fresh_host_state(self, host: str, now: datetime) -> _HostState | None:
        state = self._hosts.get(host)
        if state is not None and now - state.checked_at <= HOST_STATE_TTL:
            return state
        return None

    async def _host_state(self, host: str, now: datetime) -> _HostState:
        state = self._fresh_host_state(host, now)
        if state is not None:
            return state
        # The jobs a fan-out starts together share one read of `delivery_hosts` for all their hosts: each
        # registers its host here, and the batch starts once they all had their turn on the event loop.
        loading = self._host_loads.get(host)
        if loading is None:
            loading = self._host_loads[host] = asyncio.get_running_loop().create_future()
            self._hosts_to_load.append(host)
            if len(self._hosts_to_load) == 1:
                asyncio.get_running_loop().call_soon(self._start_host_batch)
        await asyncio.wait([loading])
        if loading.cancelled():  # the batch was cut short (shutdown): read this one alone
            row = await load_host(self.ctx.db, host)
            return self._remember_host(host, row, now)
        return loading.result()

    def _start_host_batch(self) -> None:
        hosts, self._hosts_to_load = self._hosts_to_load, []
        batch = asyncio.ensure_future(self._load_host_batch(hosts))
        self._host_batches.add(batch)
        batch.add_done_callback(self._host_batches.discard)

    async def _load_host_batch(self, hosts: list[str]) -> None:
        now = utcnow()
        # Each host is in exactly one batch (`_hosts_to_load` is handed over whole, and a host is added only
        # when it has no future yet), so only this batch settles these futures, and none is left pending.
        rows: dict[str, DeliveryHost] | None = None
        error: Exception | None = None
        try:
            async with self.ctx.db.read() as session:
                found = await session.scalars(select(DeliveryHost).where(DeliveryHost.host.in_(hosts)))
                rows = {row.host: row for row in found}
        except Exception as caught:
            error = caught
        finally:
            for host in hosts:
                loading = self._host_loads.pop(host)
                if rows is not None:
                    loading.set_result(self._remember_host(host, rows.get(host), now))
                elif error is not None:
                    loading.set_exception(error)
                    loading.exception()  # marked retrieved: a failure nobody waited for is not logged as lost
                else:
                    loading.cancel()  # the batch itself was cancelled

    def _remember_host(self, host: str, row: DeliveryHost | None, now: datetime) -> _HostState:
        state = _HostState(row.consecutive_failures if row else -1, paused(row, now), now)
        self._hosts[host] = state
        return state

    async def _succeeded(self, host: str, inbox: str) -> None:
        # Write only when the breaker state changes: a host that had failed is healthy again. A healthy or
        # never-seen host costs no transaction (a first post to thousands of new hosts would otherwise queue
        # thousands of writes behind SQLite's single writer). The new state is cached before the write so
        # the other jobs of a fan-out to this host do not write it too.
        state = self._hosts.get(host)
        if state is None or state.failures > 0:
            self._hosts[host] = _HostState(0, None, utcnow())
            proven = self.scheme_memory.get(scheme_host(urlsplit(inbox).netloc))
            await record_success(self.ctx.db, host, signature_scheme=proven.scheme if proven else None)
        elif state.failures < 0:
            self._hosts[host] = _HostState(0, None, state.checked_at)

    async def _failed(self, host: str) -> None:
        row = await record_failure(self.ctx.db, host, threshold=BREAKER_THRESHOLD, pause_for=host_pause)
        self._hosts[host] = _HostState(row.consecutive_failures, row.paused_until, utcnow())

    def _retry_or_give_up(
        self,
        job: ClaimedJob,
        now: datetime,
        *,
        status: int | None,
        error: str,
        delay: timedelta | None = None,
    ) -> Exception:
        if now - job.created_at > GIVE_UP_AFTER:
            return JobFailed(f"gave up after {job.tries} tries: {error}", status=status)
        return RetryJob(now + (delay or backoff(job.tries)), status=status, error=error)

    async def __call__(self, job: ClaimedJob) -> int | None:
        inbox: str = job.payload["inbox"]
        netloc = urlsplit(inbox).netloc
        host = job.host or netloc.lower()
        now = utcnow()
        activity_id, sender_id = int(job.payload["activity_id"]), int(job.payload["sender_id"])
        state = self._fresh_host_state(host, now)
        body = self._bodies.get(activity_id)
        auth = self._signers.get(sender_id)
        if state is None or body is None or auth is None:  # first jobs of a fan-out: load all at once
            state, body, auth = await asyncio.gather(
                self._host_state(host, now), self._body(activity_id), self._signer(sender_id)
            )
        if state.paused_until is not None:
            raise self._retry_or_give_up(
                job,
                now,
                status=None,
                error=f"{host} is paused until {state.paused_until.isoformat()}",
                delay=state.paused_until - now + timedelta(seconds=random.uniform(0, 30)),
            )
        assert self.ctx.http is not None, "the composition root builds ctx.http"
        try:
            # A refused signature is knocked again with the other scheme inside this one call
            # (apub.httpsig.knock), so the job sees the answer to the last knock.
            response = await self.ctx.http.post(inbox, body, auth=auth)
        except (UnsafeAddress, HostRefused) as error:  # final: retrying would meet the same refusal
            raise JobFailed(f"refused: {error}") from error
        except FetchError as error:
            await self._failed(host)
            raise self._retry_or_give_up(
                job, utcnow(), status=None, error=f"{type(error).__name__}: {error}"
            ) from error
        return await self._classify(job, host, response)

    async def _classify(self, job: ClaimedJob, host: str, response: FetchedResponse) -> int:
        status = response.status_code
        now = utcnow()
        if 200 <= status < 300:
            await self._succeeded(host, job.payload["inbox"])
            return status
        error = f"HTTP {status}: {response.body[:300].decode('utf-8', 'replace')}"
        if status == 410:
            await self._succeeded(host, job.payload["inbox"])
            await mark_inbox_owners_gone(self.ctx.db, job.payload["inbox"])
            raise JobFailed(error, status=status)
        if status in (429, 503):
            delay = retry_after(response.headers.get("retry-after"), now)
            if status == 503:
                await self._failed(host)
            raise self._retry_or_give_up(job, now, status=status, error=error, delay=delay)
        if status < 500:  # other 4xx, and redirects (a delivery is never redirected)
            await self._succeeded(host, job.payload["inbox"])
            raise JobFailed(error, status=status)
        await self._failed(host)
        raise self._retry_or_give_up(job, now, status=status, error=error)


def delivery_handler(ctx: Context) -> JobHandler:
    """The `deliver` queue's handler bound to `ctx` (one `Deliverer` per process, kept in `ctx.caches`)."""
    deliverer = ctx.caches.get(CACHE_KEY)
    if deliverer is None:
        deliverer = ctx.caches[CACHE_KEY] = Deliverer(ctx)
    return deliverer
