"""Domain moderation: blocks (suspend / silence / reject media / reject reports, with a public and a private
comment), the federation allow-list, and the policy of the outbound gate (`FederationGate`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Select, bindparam, delete, select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from apub.hosts import canonical_host, host_name
from storage.models import DomainAllow, DomainBlock

if TYPE_CHECKING:
    from storage.db import Database

SEVERITIES = ("suspend", "silence", "noop")
MAX_COMMENT = 1000  # characters, each comment


@dataclass(frozen=True)
class BlockTerms:
    """What a block of a domain does and says: Mastodon's DomainBlock fields besides the domain."""

    severity: str = "suspend"
    reject_media: bool = False
    reject_reports: bool = False
    public_comment: str = ""  # published with the moderated servers, where reasons are shown
    private_comment: str = ""  # staff only
    obfuscate: bool = False  # published as `obfuscated_domain`

    def refusal(self) -> tuple[str, str] | None:
        """Why these terms cannot be a block — (the field, a sentence) — or None."""
        if self.severity not in SEVERITIES:
            return "severity", f"severity must be one of {', '.join(SEVERITIES)}"
        for name in ("public_comment", "private_comment"):
            if len(getattr(self, name)) > MAX_COMMENT:
                return name, f"{name} is longer than {MAX_COMMENT} characters"
        return None

    def as_dict(self) -> dict[str, object]:
        """The terms by field name (what the audit log records)."""
        return asdict(self)


def terms_of(block: DomainBlock) -> BlockTerms:
    """The terms a stored block has now."""
    return BlockTerms(
        severity=block.severity,
        reject_media=block.reject_media,
        reject_reports=block.reject_reports,
        public_comment=block.public_comment,
        private_comment=block.private_comment,
        obfuscate=block.obfuscate,
    )


def obfuscated_domain(domain: str) -> str:
    """`domain` as a published list shows it when its block says to obfuscate (as Mastodon does): the
    characters of the middle half — all but the first and last quarter, and every dot — become `*`."""
    length = len(domain)
    shown = length // 4
    return "".join(
        "*" if shown < index < length - shown and char != "." else char for index, char in enumerate(domain)
    )


@dataclass(frozen=True)
class DomainPolicy:
    """What applies to one remote host after walking its parent domains."""

    suspended: bool = False
    silenced: bool = False
    reject_media: bool = False
    reject_reports: bool = False  # reports (Flag) from its accounts are dropped
    allowed: bool = True  # False when federation mode is allow-list and the domain is not on it

    @property
    def refused(self) -> bool:
        """Cut off: suspended, or not on the allow-list in allow-list mode (nothing in, nothing out)."""
        return self.suspended or not self.allowed

    def refusal(self, host: str) -> str | None:
        """Why `host` is cut off by this policy, or None."""
        if self.suspended:
            return f"{host} is suspended"
        if not self.allowed:
            return f"{host} is not on the allow-list"
        return None


def normalise_domain(domain: str) -> str:
    """The canonical host of what an admin typed (`apub.hosts.canonical_host`: a host name, `host:port`, a
    URL or an account address); `apub.errors.InvalidHost` (a ValueError) when it names no host."""
    return canonical_host(domain.strip())


def _candidates(host: str) -> list[str]:
    """A canonical host and every parent domain: a.b.example.org → [a.b.example.org, b.example.org,
    example.org, org] (with `host:port` first when there is a port)."""
    name = host_name(host)
    labels = name.split(".")
    parents = [".".join(labels[index:]) for index in range(len(labels))]
    return ([host] if host != name else []) + parents


def covers(domain: str, host: str) -> bool:
    """Whether a policy entry for `domain` (normalised) applies to `host`: the host itself or a parent."""
    return domain in _candidates(host)


# The candidates of a host fill a fixed number of bind slots (repeating the last one), so each query below
# is compiled once and cached; an expanding IN list would be rendered again on every call (~5x the cost, and
# the inbox reads the policy in every group commit). Longer hosts take several rounds.
_CANDIDATE_SLOTS = 8
_SLOTS = [bindparam(f"candidate{index}") for index in range(_CANDIDATE_SLOTS)]
_BLOCKS = select(DomainBlock.severity, DomainBlock.reject_media, DomainBlock.reject_reports).where(
    DomainBlock.domain.in_(_SLOTS)
)
_ALLOWS = select(DomainAllow.domain).where(DomainAllow.domain.in_(_SLOTS))


def _slot_rounds(candidates: list[str]) -> list[dict[str, str]]:
    rounds = []
    for start in range(0, len(candidates), _CANDIDATE_SLOTS):
        chunk = candidates[start : start + _CANDIDATE_SLOTS]
        chunk += chunk[-1:] * (_CANDIDATE_SLOTS - len(chunk))
        rounds.append({f"candidate{index}": value for index, value in enumerate(chunk)})
    return rounds


@lru_cache(maxsize=8)
def _compiled_for(statement: Select[Any], dialect: Dialect) -> str:
    compiled = statement.compile(dialect=dialect)
    assert compiled.positiontup == [slot.key for slot in _SLOTS]  # qmark: the slots by position
    return str(compiled)


def read_domain_policy(connection: Connection, host: str, *, allowlist_mode: bool) -> DomainPolicy:
    """The moderation policy for canonical `host` (`apub.hosts`; a block on a parent domain covers its
    subdomains), read on a synchronous connection: the one implementation, also behind `policy_for_host`,
    batched writes and the outbound `FederationGate`."""
    rounds = _slot_rounds(_candidates(host))
    if connection.dialect.name == "sqlite":
        # Straight to the driver (the inbox reads this in every group commit): the statement compiled once,
        # the slots in their positional order; the columns need no result processing.
        sql = _compiled_for(_BLOCKS, connection.dialect)
        blocks = [row for slots in rounds for row in connection.exec_driver_sql(sql, tuple(slots.values()))]
    else:
        blocks = [row for slots in rounds for row in connection.execute(_BLOCKS, slots)]
    allowed = not allowlist_mode or any(
        connection.execute(_ALLOWS, slots).first() is not None for slots in rounds
    )
    return DomainPolicy(
        suspended=any(severity == "suspend" for severity, _, _ in blocks),
        silenced=any(severity == "silence" for severity, _, _ in blocks),
        reject_media=any(media for _, media, _ in blocks),
        reject_reports=any(reports for _, _, reports in blocks),
        allowed=allowed,
    )


async def policy_for_host(session: AsyncSession, host: str, *, allowlist_mode: bool) -> DomainPolicy:
    """`read_domain_policy` in the caller's session."""
    return await session.run_sync(
        lambda sync_session: read_domain_policy(
            sync_session.connection(), host, allowlist_mode=allowlist_mode
        )
    )


async def block_domain(session: AsyncSession, domain: str, terms: BlockTerms = BlockTerms()) -> DomainBlock:
    """Create or update the block of `domain` with `terms` (ValueError when `terms.refusal()`)."""
    refusal = terms.refusal()
    if refusal is not None:
        raise ValueError(refusal[1])
    domain = normalise_domain(domain)
    block = await session.get(DomainBlock, domain)
    if block is None:
        block = DomainBlock(domain=domain)
        session.add(block)
    for name, value in terms.as_dict().items():
        setattr(block, name, value)
    await session.flush()
    return block


async def unblock_domain(session: AsyncSession, domain: str) -> bool:
    """Remove the block of `domain`; False if there was none."""
    result = await session.execute(delete(DomainBlock).where(DomainBlock.domain == normalise_domain(domain)))
    return result.rowcount > 0


async def allow_domain(session: AsyncSession, domain: str) -> None:
    """Put `domain` on the federation allow-list."""
    domain = normalise_domain(domain)
    if await session.get(DomainAllow, domain) is None:
        session.add(DomainAllow(domain=domain))
        await session.flush()


async def disallow_domain(session: AsyncSession, domain: str) -> bool:
    """Take `domain` off the allow-list; False if it was not on it."""
    result = await session.execute(delete(DomainAllow).where(DomainAllow.domain == normalise_domain(domain)))
    return result.rowcount > 0


async def list_domain_blocks(session: AsyncSession) -> list[DomainBlock]:
    """Every domain block, by domain."""
    return list((await session.execute(select(DomainBlock).order_by(DomainBlock.domain))).scalars())


async def list_domain_allows(session: AsyncSession) -> list[str]:
    """Every allow-listed domain."""
    return list((await session.execute(select(DomainAllow.domain).order_by(DomainAllow.domain))).scalars())


class FederationGate:
    """The policy behind the federation client's outbound gate (`apub.client.FederationClient`): may this
    server contact a canonical host at all? Not when the host (or a parent domain) is suspended, nor, in
    allow-list mode, when it is not on the list.

    The gate keeps a snapshot of the suspended domains (and of the allow-list in allow-list mode) for `ttl`
    seconds and answers every host from it: a fan-out to thousands of hosts costs one read of those two short
    lists, where one read per host cost thousands of queries per post (the snapshot outlived each host's
    own answer). A block made by another process (the CLI) takes effect here within `ttl`, one made in this
    process at once when it calls `forget`."""

    def __init__(
        self,
        db: Database,
        *,
        allowlist_mode: bool,
        ttl: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._allowlist_mode = allowlist_mode
        self._ttl = ttl
        self._clock = clock
        self._snapshot: tuple[frozenset[str], frozenset[str], float] | None = None
        self._loading: asyncio.Future[tuple[frozenset[str], frozenset[str], float]] | None = None

    async def __call__(self, host: str) -> bool:
        """True when `host` (canonical, `apub.hosts`) may be contacted."""
        suspended, allowed, _ = await self._current()
        candidates = _candidates(host)
        if any(candidate in suspended for candidate in candidates):
            return False
        return not self._allowlist_mode or any(candidate in allowed for candidate in candidates)

    async def _current(self) -> tuple[frozenset[str], frozenset[str], float]:
        snapshot = self._snapshot
        if snapshot is not None and self._clock() - snapshot[2] < self._ttl:
            return snapshot
        if self._loading is None:  # one read for every host asked about meanwhile
            self._loading = asyncio.ensure_future(self._load())
            self._loading.add_done_callback(self._loaded)
        return await asyncio.shield(self._loading)

    def _loaded(self, loading: asyncio.Future[tuple[frozenset[str], frozenset[str], float]]) -> None:
        if self._loading is not loading:  # `forget` came meanwhile: this read may predate the change
            return
        self._loading = None
        if not loading.cancelled() and loading.exception() is None:
            self._snapshot = loading.result()

    async def _load(self) -> tuple[frozenset[str], frozenset[str], float]:
        taken = self._clock()
        async with self._db.read() as session:
            suspended = frozenset(
                await session.scalars(select(DomainBlock.domain).where(DomainBlock.severity == "suspend"))
            )
            allowed = (
                frozenset(await session.scalars(select(DomainAllow.domain)))
                if self._allowlist_mode
                else frozenset()
            )
        return suspended, allowed, taken

    def forget(self) -> None:
        """Drop the kept snapshot (after a block or an allow-list change made in this process)."""
        self._snapshot = None
        self._loading = None
