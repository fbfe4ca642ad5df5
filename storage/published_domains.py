"""What the public may see of the domain policy: the moderated servers as `/api/v1/instance/domain_blocks`
and the about page list them. One rule for both, as Mastodon's: only blocks that limit (silence or
suspend), an obfuscated block's domain with the middle of its name as `*` (its SHA-256 digest lets a
reader check a domain they know), and only the public comment — and that only for a reader the admin
shows reasons to. The private comment never leaves the staff pages, the admin API and the audit log."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from storage.domains import list_domain_blocks, obfuscated_domain
from storage.models import DomainBlock
from storage.settings import DomainBlocksAudience

PUBLISHED_SEVERITIES = ("silence", "suspend")


@dataclass(frozen=True)
class PublishedBlock:
    """One moderated server as the public sees it."""

    domain: str  # obfuscated when the block says so
    digest: str  # hex SHA-256 of the real domain
    severity: str
    comment: str | None  # the public comment; None when empty or when reasons are not shown


def audience_allows(audience: DomainBlocksAudience, *, signed_in: bool) -> bool:
    """Whether a reader sees what `audience` guards (`instance.show_domain_blocks`, `…_reasons`): "all"
    anyone, "users" a signed-in user, "disabled" nobody."""
    return audience == "all" or (audience == "users" and signed_in)


def block_to_published(block: DomainBlock, *, with_reasons: bool) -> PublishedBlock:
    """How the public sees `block`."""
    return PublishedBlock(
        domain=obfuscated_domain(block.domain) if block.obfuscate else block.domain,
        digest=hashlib.sha256(block.domain.encode()).hexdigest(),
        severity=block.severity,
        comment=(block.public_comment or None) if with_reasons else None,
    )


async def published_domain_blocks(session: AsyncSession, *, with_reasons: bool) -> list[PublishedBlock]:
    """The moderated servers as the public sees them, by domain."""
    return [
        block_to_published(block, with_reasons=with_reasons)
        for block in await list_domain_blocks(session)
        if block.severity in PUBLISHED_SEVERITIES
    ]
