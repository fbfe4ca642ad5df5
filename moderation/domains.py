"""Domain moderation actions: block (suspend / silence / noop, with or without reject-media), unblock,
allow and disallow. Each is ONE transaction that changes the policy rows, brings the stored accounts,
follows, queued deliveries and media in line with the policy as it now stands, and writes its audit entry.
A dry run does the same work and rolls it back, so it reports exactly what the real run would do.

What the policy does to a host under the domain (`moderation.hosts`):
- refused (suspended, or off the allow-list in allow-list mode): severed (`moderation.severance`) and its
  content purged in the background (`moderation.purge`);
- silenced: its accounts are marked silenced — their posts stay out of the public, local, federated and
  hashtag timelines and streams, and they notify only local accounts that follow them;
- reject-reports: reports (Flag activities) from its accounts are dropped on arrival (`inbox.handlers.flags`);
- reject-media: its accounts' media attachments are deleted now; new posts from it are stored without
  attachments (Plein never fetches or stores remote media, it links them, so nothing else is fetched);
- neither: accounts suspended or silenced by an earlier policy are released (follows severed earlier are
  not restored, as in Mastodon).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from inbox.policy import forget_policies
from moderation.errors import InvalidTerms, ModerationError, NothingToUndo
from moderation.hosts import hosts_by_policy
from moderation.purge import MODERATION_QUEUE, purge_job_row
from moderation.severance import Counts, sever_hosts
from storage import domains
from storage.audit import add_audit_entry
from storage.context import Context
from storage.custom_emojis import forget_remote_emojis
from storage.domains import FederationGate
from storage.media_cache import forget_copies
from storage.models import Account, MediaAttachment
from storage.profile_jobs import forget_profile_images
from storage.queue import enqueue_many
from storage.types import utcnow


@dataclass
class DomainOutcome:
    """What a domain action did (or, when `dry_run`, would have done)."""

    domain: str
    action: str  # domain.block | domain.unblock | domain.allow | domain.disallow
    counts: Counts
    dry_run: bool = False
    purge_queued: bool = False
    detail: dict[str, object] = field(default_factory=dict)  # a block's terms (`storage.domains.BlockTerms`)


class _DryRun(Exception):  # noqa: N818 - carries the outcome out of the transaction it rolls back
    def __init__(self, outcome: DomainOutcome) -> None:
        super().__init__("dry run")
        self.outcome = outcome


def _normalised(domain: str) -> str:
    try:
        return domains.normalise_domain(domain)
    except ValueError as error:
        raise ModerationError(str(error)) from error


async def _reject_media(session: AsyncSession, hosts: list[str]) -> int:
    """Delete the media attachments of the accounts on `hosts` (links to remote files), and our copies of
    their avatars and headers (`storage.profile_jobs`); returns how many rows."""
    if not hosts:
        return 0
    theirs = select(Account.id).where(Account.domain.in_(hosts)).scalar_subquery()
    await forget_profile_images(session, Account.domain.in_(hosts))  # our copies of their avatars go too
    await forget_copies(session, MediaAttachment.account_id.in_(theirs))  # and of their attachments
    result = await session.execute(
        delete(MediaAttachment)
        .where(MediaAttachment.account_id.in_(theirs))
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)


async def _set_flag(session: AsyncSession, hosts: list[str], column: str, *, on: bool) -> int:
    """Set (to now) or clear `suspended_at` / `silenced_at` of the accounts on `hosts` where it differs."""
    if not hosts:
        return 0
    flag = getattr(Account, column)
    statement = update(Account).where(Account.domain.in_(hosts))
    if on:
        statement = statement.where(flag.is_(None)).values({column: utcnow()})
    else:
        # Remote suspensions come only from domain policy, except a deleted actor's (gone), which stays.
        statement = statement.where(flag.is_not(None)).values({column: None})
        if column == "suspended_at":
            statement = statement.where(Account.gone_at.is_(None))
    result = await session.execute(statement.execution_options(synchronize_session=False))
    return int(result.rowcount)


async def _apply_policy(ctx: Context, session: AsyncSession, outcome: DomainOutcome, actor: str) -> None:
    """Bring what is stored about the hosts under the outcome's domain in line with the policy as it now
    stands in `session`."""
    judged = await hosts_by_policy(
        session, outcome.domain, allowlist_mode=ctx.settings.federation.mode == "allowlist"
    )
    counts = await sever_hosts(session, judged.refused, utcnow())
    counts.silenced = await _set_flag(session, judged.silenced, "silenced_at", on=True)
    counts.unsilenced = await _set_flag(session, judged.free, "silenced_at", on=False)
    counts.unsuspended = await _set_flag(session, judged.silenced + judged.free, "suspended_at", on=False)
    to_purge = counts.statuses or counts.media or counts.favourites or counts.notifications
    counts.media += await _reject_media(session, judged.reject_media)
    counts.emojis = await forget_remote_emojis(session, judged.refused + judged.reject_media)
    outcome.counts = counts
    if to_purge:
        await enqueue_many(session, [purge_job_row(domain=outcome.domain, hosts=judged.refused, actor=actor)])
        outcome.purge_queued = True
    await add_audit_entry(
        session,
        actor=actor,
        action=outcome.action,
        target=outcome.domain,
        details={**outcome.detail, "counts": counts.as_dict()},
    )


Change = Callable[[AsyncSession, str], Awaitable[object]]


async def _run(
    ctx: Context,
    action: str,
    domain: str,
    change: Change,
    *,
    actor: str,
    dry_run: bool,
    detail: dict[str, object] | None = None,
) -> DomainOutcome:
    """Change the policy rows of `domain`, apply the policy and audit it in one transaction (rolled back for
    a dry run); after commit, drop this process's cached policies (the inbox's and the outbound gate's)
    and wake the purge worker."""
    outcome = DomainOutcome(_normalised(domain), action, Counts(), dry_run=dry_run, detail=detail or {})
    try:
        async with ctx.db.transaction() as session:
            await change(session, outcome.domain)
            await _apply_policy(ctx, session, outcome, actor)
            if outcome.dry_run:
                raise _DryRun(outcome)
    except _DryRun:
        return outcome
    forget_policies(ctx)
    if ctx.http is not None and isinstance(ctx.http.host_gate, FederationGate):
        ctx.http.host_gate.forget()  # the outbound gate refuses the cut-off hosts from now on
    if outcome.purge_queued:
        worker = ctx.caches.get("workers", {}).get(MODERATION_QUEUE)
        if worker is not None:
            worker.wake()
    return outcome


def _removal(remove: Callable[[AsyncSession, str], Awaitable[bool]], missing: str) -> Change:
    """A change that removes a policy row, refusing when there is none."""

    async def change(session: AsyncSession, domain: str) -> None:
        if not await remove(session, domain):
            raise NothingToUndo(f"{domain} {missing}")

    return change


async def block_domain(
    ctx: Context,
    domain: str,
    *,
    actor: str,
    severity: str = "suspend",
    reject_media: bool = False,
    reject_reports: bool = False,
    public_comment: str = "",
    private_comment: str = "",
    obfuscate: bool = False,
    dry_run: bool = False,
) -> DomainOutcome:
    """Create or change the block of `domain` (and its subdomains); the audit entry records every term,
    both comments included (the audit log is for staff)."""
    terms = domains.BlockTerms(
        severity=severity,
        reject_media=reject_media,
        reject_reports=reject_reports,
        public_comment=public_comment,
        private_comment=private_comment,
        obfuscate=obfuscate,
    )
    refusal = terms.refusal()
    if refusal is not None:
        raise InvalidTerms(*refusal)

    async def change(session: AsyncSession, domain: str) -> None:
        await domains.block_domain(session, domain, terms)

    detail = terms.as_dict()
    return await _run(ctx, "domain.block", domain, change, actor=actor, dry_run=dry_run, detail=detail)


async def unblock_domain(ctx: Context, domain: str, *, actor: str, dry_run: bool = False) -> DomainOutcome:
    """Lift the block of `domain`: its accounts are released; severed follows stay severed."""
    change = _removal(domains.unblock_domain, "is not blocked")
    return await _run(ctx, "domain.unblock", domain, change, actor=actor, dry_run=dry_run)


async def allow_domain(ctx: Context, domain: str, *, actor: str, dry_run: bool = False) -> DomainOutcome:
    """Put `domain` on the federation allow-list."""
    return await _run(ctx, "domain.allow", domain, domains.allow_domain, actor=actor, dry_run=dry_run)


async def disallow_domain(ctx: Context, domain: str, *, actor: str, dry_run: bool = False) -> DomainOutcome:
    """Take `domain` off the allow-list; in allow-list mode its hosts are then severed like a suspend."""
    change = _removal(domains.disallow_domain, "is not on the allow-list")
    return await _run(ctx, "domain.disallow", domain, change, actor=actor, dry_run=dry_run)
