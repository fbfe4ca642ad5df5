"""Which stored hosts a domain policy entry touches, and what the policy now says of each.

A policy entry for `example.org` covers `example.org` and every subdomain (`storage.domains.covers`); the
hosts we hold anything of are those of stored remote accounts and of queued deliveries. Each is judged by
the one policy reader (`storage.domains.read_domain_policy`), so a host still covered by another entry (a
parent domain's block, another allow-list entry) is judged by that entry too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.deliveries import DELIVER_QUEUE
from storage.domains import covers, policy_for_host
from storage.models import Account, Job

QUEUED = ("pending", "running")


@dataclass
class HostsByPolicy:
    """The hosts under one domain, by what the policy does to them."""

    refused: list[str] = field(default_factory=list)  # suspended, or off the allow-list in allow-list mode
    silenced: list[str] = field(default_factory=list)
    reject_media: list[str] = field(default_factory=list)  # not refused, media rejected
    free: list[str] = field(default_factory=list)  # neither refused nor silenced


def _like_anywhere(domain: str) -> str:
    escaped = domain.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def hosts_under(session: AsyncSession, domain: str) -> list[str]:
    """Hosts of stored remote accounts and of queued deliveries that an entry for `domain` covers, as stored."""
    pattern = _like_anywhere(domain)
    account_hosts = (
        select(Account.domain)
        .distinct()
        .where(Account.domain.is_not(None), func.lower(Account.domain).like(pattern, escape="\\"))
    )
    job_hosts = (
        select(Job.host)
        .distinct()
        .where(
            Job.queue == DELIVER_QUEUE,
            Job.state.in_(QUEUED),
            Job.host.is_not(None),
            func.lower(Job.host).like(pattern, escape="\\"),
        )
    )
    found = set((await session.execute(account_hosts)).scalars()) | set(
        (await session.execute(job_hosts)).scalars()
    )
    return sorted(host for host in found if covers(domain, host.lower()))


async def hosts_by_policy(session: AsyncSession, domain: str, *, allowlist_mode: bool) -> HostsByPolicy:
    """The hosts under `domain`, judged by the policy as it stands in `session` (changes included)."""
    judged = HostsByPolicy()
    for host in await hosts_under(session, domain):
        policy = await policy_for_host(session, host, allowlist_mode=allowlist_mode)
        if policy.refused:
            judged.refused.append(host)
            continue
        (judged.silenced if policy.silenced else judged.free).append(host)
        if policy.reject_media:
            judged.reject_media.append(host)
    return judged
