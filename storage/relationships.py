"""What one account is to others: follows, requests, blocks and mutes, read in a few batched queries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.account_notes import notes_on
from storage.account_pins import endorsed_ids
from storage.models import Account, AccountDomainBlock, Block, Follow, FollowRequest, Mute
from storage.types import utcnow


@dataclass(frozen=True)
class RelationshipFacts:
    """The relationship of a viewer to one target account."""

    following: bool = False
    showing_reblogs: bool = False
    notifying: bool = False
    followed_by: bool = False
    blocking: bool = False
    blocked_by: bool = False
    muting: bool = False
    muting_notifications: bool = False
    muting_expires_at: datetime | None = None
    requested: bool = False
    requested_by: bool = False
    domain_blocking: bool = False
    endorsed: bool = False
    note: str = ""


def _in_force(mute: Mute) -> bool:
    return mute.expires_at is None or mute.expires_at > utcnow()


async def relationship_facts(
    session: AsyncSession, viewer_id: int, target_ids: Iterable[int]
) -> dict[int, RelationshipFacts]:
    """The viewer's relationship to each target, keyed by target id (ten indexed queries in all)."""
    targets = list(dict.fromkeys(target_ids))
    if not targets:
        return {}

    async def outgoing(
        model: type[Follow] | type[FollowRequest] | type[Block] | type[Mute],
    ) -> dict[int, object]:
        rows = await session.execute(
            select(model).where(model.account_id == viewer_id, model.target_account_id.in_(targets))
        )
        return {row.target_account_id: row for row in rows.scalars() if model is not Mute or _in_force(row)}

    async def incoming(model: type[Follow] | type[FollowRequest] | type[Block]) -> set[int]:
        rows = await session.execute(
            select(model.account_id).where(
                model.target_account_id == viewer_id, model.account_id.in_(targets)
            )
        )
        return set(rows.scalars())

    follows = await outgoing(Follow)
    requests = await outgoing(FollowRequest)
    blocks = await outgoing(Block)
    mutes = await outgoing(Mute)
    followers = await incoming(Follow)
    requesters = await incoming(FollowRequest)
    blocked_by = await incoming(Block)
    domain_blocked = set(
        (
            await session.execute(
                select(Account.id)
                .join(AccountDomainBlock, AccountDomainBlock.domain == Account.domain)
                .where(Account.id.in_(targets), AccountDomainBlock.account_id == viewer_id)
            )
        ).scalars()
    )
    endorsed = await endorsed_ids(session, viewer_id, targets)
    notes = await notes_on(session, viewer_id, targets)
    facts: dict[int, RelationshipFacts] = {}
    for target in targets:
        follow = follows.get(target)
        request = requests.get(target)
        mute = mutes.get(target)
        pending = follow or request
        facts[target] = RelationshipFacts(
            following=follow is not None,
            showing_reblogs=bool(pending and pending.show_reblogs),  # type: ignore[attr-defined]
            notifying=bool(pending and pending.notify),  # type: ignore[attr-defined]
            followed_by=target in followers,
            blocking=target in blocks,
            blocked_by=target in blocked_by,
            muting=mute is not None,
            muting_notifications=bool(mute and mute.notifications),  # type: ignore[attr-defined]
            muting_expires_at=mute.expires_at if mute else None,  # type: ignore[attr-defined]
            requested=request is not None,
            requested_by=target in requesters,
            domain_blocking=target in domain_blocked,
            endorsed=target in endorsed,
            note=notes.get(target, ""),
        )
    return facts
