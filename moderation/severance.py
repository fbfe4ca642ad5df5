"""Cutting hosts off: what a suspend (or leaving the allow-list) removes at once, and what it leaves to purge.

At once, in the action's transaction: the accounts on the hosts are suspended (every timeline, notification
and search query already leaves suspended accounts out, so their content is hidden from that commit on) and
their statuses leave every home feed;
follows and follow requests both ways are deleted and the counters of the local accounts on the other end
recounted; queued deliveries to the hosts are deleted. Nothing is sent to the hosts (no Reject, no Undo): a
suspend stops all traffic to them. The accounts stay as suspended stubs, as in Mastodon, so the domain's
actors keep being recognised and refused.

Later, by the purge job (`moderation.purge`): the accounts' statuses (with their fan-out rows, mentions, tags
and the boosts of them), their media attachments (links: no remote media file is stored), their favourites and the
notifications they caused. Statuses cited by an unresolved report stay for the moderators, as in Mastodon.
`content_counts` counts exactly what the purge will remove, so a dry run can say it beforehand.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from moderation.hosts import QUEUED
from storage.deliveries import DELIVER_QUEUE
from storage.follows import recount_follows, remove_author_from_home_feed
from storage.models import (
    Account,
    Favourite,
    Follow,
    FollowRequest,
    Job,
    MediaAttachment,
    Notification,
    Report,
    Status,
)


@dataclass
class Counts:
    """What a moderation action removed or changed (or, in a dry run, would have)."""

    followers: int = 0  # follows of local accounts by accounts on the hosts
    following: int = 0  # follows of accounts on the hosts by local accounts
    follow_requests: int = 0  # pending, either way
    deliveries: int = 0  # queued deliveries to the hosts
    accounts: int = 0  # accounts suspended
    statuses: int = 0  # the accounts' statuses (purged)
    media: int = 0  # their media attachments (purged, or removed at once by reject-media)
    favourites: int = 0  # favourites they gave (purged)
    notifications: int = 0  # notifications they caused (purged)
    emojis: int = 0  # their servers' custom emojis (forgotten when cut off or when media are rejected)
    silenced: int = 0  # accounts newly silenced
    unsilenced: int = 0
    unsuspended: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Counts:
        names = {field.name for field in fields(cls)}
        return cls(**{name: int(value) for name, value in values.items() if name in names})

    def summary(self) -> str:
        """`name=count` for every count, in a fixed order (the same line for a dry run and the real run)."""
        return " ".join(f"{name}={value}" for name, value in asdict(self).items())


def accounts_on(hosts: list[str]) -> Select[Any]:
    """Ids of the stored accounts on `hosts`."""
    return select(Account.id).where(Account.domain.in_(hosts))


async def reported_status_ids(session: AsyncSession, account_ids: Select[Any]) -> set[int]:
    """Statuses cited by unresolved reports against these accounts: kept for the moderators."""
    rows = await session.execute(
        select(Report.status_ids).where(
            Report.target_account_id.in_(account_ids.scalar_subquery()), Report.resolved_at.is_(None)
        )
    )
    return {int(status_id) for status_ids in rows.scalars() for status_id in status_ids or ()}


def purged_statuses(account_ids: Select[Any], kept: set[int]) -> ColumnElement[bool]:
    """The statuses the purge removes: the accounts' own, but those kept for reports."""
    condition = Status.account_id.in_(account_ids.scalar_subquery())
    return condition & Status.id.not_in(kept) if kept else condition


def purged_media(account_ids: Select[Any], kept: set[int]) -> ColumnElement[bool]:
    """The media attachments the purge removes: the accounts' own, but those of statuses kept for reports."""
    condition = MediaAttachment.account_id.in_(account_ids.scalar_subquery())
    if kept:
        condition = condition & or_(
            MediaAttachment.status_id.is_(None), MediaAttachment.status_id.not_in(kept)
        )
    return condition


async def _count(session: AsyncSession, model: type, condition: ColumnElement[bool]) -> int:
    return int(await session.scalar(select(func.count()).select_from(model).where(condition)) or 0)


async def content_counts(session: AsyncSession, account_ids: Select[Any], counts: Counts) -> None:
    """Add to `counts` what the purge of these accounts will remove."""
    kept = await reported_status_ids(session, account_ids)
    subquery = account_ids.scalar_subquery()
    counts.statuses += await _count(session, Status, purged_statuses(account_ids, kept))
    counts.media += await _count(session, MediaAttachment, purged_media(account_ids, kept))
    counts.favourites += await _count(session, Favourite, Favourite.account_id.in_(subquery))
    counts.notifications += await _count(session, Notification, Notification.from_account_id.in_(subquery))


async def sever_hosts(session: AsyncSession, hosts: list[str], now: datetime) -> Counts:
    """Suspend the accounts on `hosts`, delete follows and follow requests both ways and queued deliveries to
    them, in the caller's transaction; returns those counts and the content left for the purge."""
    counts = Counts()
    if not hosts:
        return counts
    ours = accounts_on(hosts)
    theirs = ours.scalar_subquery()
    counts.deliveries = int(
        (
            await session.execute(
                delete(Job)
                .where(Job.queue == DELIVER_QUEUE, Job.state.in_(QUEUED), Job.host.in_(hosts))
                .execution_options(synchronize_session=False)
            )
        ).rowcount
    )
    counts.followers = await _count(session, Follow, Follow.account_id.in_(theirs))
    counts.following = await _count(
        session, Follow, Follow.target_account_id.in_(theirs) & Follow.account_id.not_in(theirs)
    )
    involved = or_(Follow.account_id.in_(theirs), Follow.target_account_id.in_(theirs))
    local_ends = list(
        (
            await session.execute(
                select(Account.id).where(
                    Account.domain.is_(None),
                    or_(
                        Account.id.in_(select(Follow.target_account_id).where(Follow.account_id.in_(theirs))),
                        Account.id.in_(select(Follow.account_id).where(Follow.target_account_id.in_(theirs))),
                    ),
                )
            )
        ).scalars()
    )
    await session.execute(delete(Follow).where(involved).execution_options(synchronize_session=False))
    requested = or_(FollowRequest.account_id.in_(theirs), FollowRequest.target_account_id.in_(theirs))
    counts.follow_requests = await _count(session, FollowRequest, requested)
    await session.execute(delete(FollowRequest).where(requested).execution_options(synchronize_session=False))
    await session.execute(
        update(Account)
        .where(Account.id.in_(theirs))
        .values(followers_count=0, following_count=0)
        .execution_options(synchronize_session=False)
    )
    await recount_follows(session, *local_ends)
    counts.accounts = int(
        (
            await session.execute(
                update(Account)
                .where(Account.domain.in_(hosts), Account.suspended_at.is_(None))
                .values(suspended_at=now)
                .execution_options(synchronize_session=False)
            )
        ).rowcount
    )
    # Home pages take their feed rows before the statuses (`storage.timelines`): hidden rows must leave.
    await remove_author_from_home_feed(session, None, theirs)
    await content_counts(session, ours, counts)
    return counts
