"""Domain moderation: blocks (suspend / silence / reject media) and the federation allow-list."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Select, bindparam, delete, select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import DomainAllow, DomainBlock

SEVERITIES = ("suspend", "silence", "noop")


@dataclass(frozen=True)
class DomainPolicy:
    """What applies to one remote host after walking its parent domains."""

    suspended: bool = False
    silenced: bool = False
    reject_media: bool = False
    allowed: bool = True  # False when federation mode is allow-list and the domain is not on it


def normalise_domain(domain: str) -> str:
    """Lower-case, strip a trailing dot and any port-free garbage; IDNs to their ASCII form."""
    domain = domain.strip().rstrip(".").lower()
    if not domain or "/" in domain or " " in domain:
        raise ValueError(f"not a domain: {domain!r}")
    host, _, port = domain.partition(":")
    ascii_host = host.encode("idna").decode("ascii") if not host.isascii() else host
    return f"{ascii_host}:{port}" if port else ascii_host


def _candidates(host: str) -> list[str]:
    """The host and every parent domain: a.b.example.org → [a.b.example.org, b.example.org, example.org, org]."""
    host = host.lower()
    name, _, _port = host.partition(":")
    labels = name.split(".")
    parents = [".".join(labels[index:]) for index in range(len(labels))]
    return ([host] if host != name else []) + parents


# The candidates of a host fill a fixed number of bind slots (repeating the last one), so each query below
# is compiled once and cached; an expanding IN list would be rendered again on every call (~5x the cost, and
# the inbox reads the policy in every group commit). Longer hosts take several rounds.
_CANDIDATE_SLOTS = 8
_SLOTS = [bindparam(f"candidate{index}") for index in range(_CANDIDATE_SLOTS)]
_BLOCKS = select(DomainBlock.severity, DomainBlock.reject_media).where(DomainBlock.domain.in_(_SLOTS))
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
    """The moderation policy for `host` (a block on a parent domain covers its subdomains), read on a
    synchronous connection: the one implementation, also behind `policy_for_host` and batched writes."""
    rounds = _slot_rounds(_candidates(host))
    if connection.dialect.name == "sqlite":
        # Straight to the driver (the inbox reads this in every group commit): the statement compiled once,
        # the slots in their positional order; the columns need no result processing.
        sql = _compiled_for(_BLOCKS, connection.dialect)
        blocks = [row for slots in rounds for row in connection.exec_driver_sql(sql, tuple(slots.values()))]
    else:
        blocks = [row for slots in rounds for row in connection.execute(_BLOCKS, slots)]
    suspended = any(severity == "suspend" for severity, _ in blocks)
    silenced = any(severity == "silence" for severity, _ in blocks)
    reject_media = any(reject for _, reject in blocks)
    allowed = not allowlist_mode or any(
        connection.execute(_ALLOWS, slots).first() is not None for slots in rounds
    )
    return DomainPolicy(suspended=suspended, silenced=silenced, reject_media=reject_media, allowed=allowed)


async def policy_for_host(session: AsyncSession, host: str, *, allowlist_mode: bool) -> DomainPolicy:
    """`read_domain_policy` in the caller's session."""
    return await session.run_sync(
        lambda sync_session: read_domain_policy(
            sync_session.connection(), host, allowlist_mode=allowlist_mode
        )
    )


async def block_domain(
    session: AsyncSession,
    domain: str,
    *,
    severity: str = "suspend",
    reject_media: bool = False,
    comment: str = "",
) -> DomainBlock:
    """Create or update the block of `domain`."""
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}")
    domain = normalise_domain(domain)
    block = await session.get(DomainBlock, domain)
    if block is None:
        block = DomainBlock(domain=domain)
        session.add(block)
    block.severity = severity
    block.reject_media = reject_media
    block.comment = comment
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
