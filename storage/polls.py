"""Polls and votes: the rows, the vote rules (as Mastodon's `VoteValidator`), the tallies, and the `polls`
queue's jobs — the end of a poll at `expires_at`, and the coalesced `Update` of a local poll's counts.

A vote is recorded with its tallies in the voter's transaction; the poll row is locked first (`FOR UPDATE`
on PostgreSQL, the single writer on SQLite) so concurrent votes never lose a count.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.ids import new_id
from storage.models import Account, Poll, PollVote
from storage.queue import enqueue
from storage.types import utcnow

POLLS_QUEUE = "polls"
# Votes on a local poll are announced to the poll's audience at most once per window, at its end, as
# Mastodon's `DistributePollUpdateWorker.perform_in(3.minutes)`: a burst of votes makes one `Update`.
UPDATE_WINDOW = timedelta(minutes=3)


class VoteRefused(Exception):  # noqa: N818 - a refusal with the message Mastodon gives
    """Why a vote cannot be counted (expired, own poll, unknown option, already voted)."""


@dataclass(frozen=True)
class PollRequest:
    """A poll as a local author asks for it."""

    options: list[str]
    expires_in: int  # seconds
    multiple: bool = False
    hide_totals: bool = False


def is_expired(poll: Poll, now: datetime | None = None) -> bool:
    """Whether voting on `poll` has ended."""
    return poll.expires_at is not None and poll.expires_at <= (now or utcnow())


async def poll_of_status(session: AsyncSession, status_id: int, *, for_update: bool = False) -> Poll | None:
    """The poll of a status, if it has one (locked for the transaction with `for_update`)."""
    statement = select(Poll).where(Poll.status_id == status_id)
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def poll_by_id(session: AsyncSession, poll_id: int, *, for_update: bool = False) -> Poll | None:
    """A poll by id (locked for the transaction with `for_update`)."""
    statement = select(Poll).where(Poll.id == poll_id)
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def polls_by_ids(session: Any, poll_ids: Sequence[int]) -> list[Any]:
    """Poll rows (plain rows, not ORM objects: a page of statuses is rendered from rows) in one query."""
    rows = await session.execute(select(*Poll.__table__.columns).where(Poll.id.in_(poll_ids)))
    return list(rows.all())


async def own_votes(session: Any, poll_ids: Sequence[int], account_id: int) -> dict[int, list[int]]:
    """The options `account_id` chose in each poll (one query)."""
    if not poll_ids:
        return {}
    rows = await session.execute(
        select(PollVote.poll_id, PollVote.choice)
        .where(PollVote.poll_id.in_(poll_ids), PollVote.account_id == account_id)
        .order_by(PollVote.choice)
    )
    chosen: dict[int, list[int]] = {}
    for poll_id, choice in rows.all():
        chosen.setdefault(poll_id, []).append(choice)
    return chosen


def new_poll(status_id: int, account_id: int, request: PollRequest) -> Poll:
    """The row of a local author's new poll."""
    now = utcnow()
    return Poll(
        status_id=status_id,
        account_id=account_id,
        options=list(request.options),
        tallies=[0] * len(request.options),
        multiple=request.multiple,
        hide_totals=request.hide_totals,
        votes_count=0,
        voters_count=0,
        expires_at=now + timedelta(seconds=request.expires_in),
        created_at=now,
        updated_at=now,
    )


async def replace_options(session: AsyncSession, poll: Poll, request: PollRequest) -> bool:
    """Apply an edit of a local poll. Changed options (or single/multiple choice) invalidate every vote,
    which go, as in Mastodon. Returns whether the votes were reset."""
    reset = list(request.options) != list(poll.options) or request.multiple != poll.multiple
    poll.hide_totals = request.hide_totals
    poll.expires_at = utcnow() + timedelta(seconds=request.expires_in)
    poll.updated_at = utcnow()
    if reset:
        await session.execute(delete(PollVote).where(PollVote.poll_id == poll.id))
        poll.options, poll.multiple = list(request.options), request.multiple
        poll.tallies = [0] * len(request.options)
        poll.votes_count, poll.voters_count = 0, 0
    return reset


def remote_poll_row(status_id: int, account_id: int, values: dict[str, Any]) -> dict[str, Any]:
    """The `polls` row of a received `Question` (`values`: options, tallies, multiple, expires_at,
    voters_count, as `webfinger.convert` reads them)."""
    now = utcnow()
    return {
        "id": new_id(),
        "status_id": status_id,
        "account_id": account_id,
        "options": values["options"],
        "tallies": values["tallies"],
        "multiple": values["multiple"],
        "hide_totals": False,
        "votes_count": sum(values["tallies"]),
        "voters_count": values["voters_count"],
        "expires_at": values["expires_at"],
        "created_at": now,
        "updated_at": now,
    }


async def refresh_remote_poll(
    session: AsyncSession, status_id: int, account_id: int, values: dict[str, Any]
) -> None:
    """Take a remote poll's state from its author's `Update`: counts, end time, and options — new options
    void the votes cast here, as Mastodon does."""
    poll = await poll_of_status(session, status_id, for_update=True)
    if poll is None:
        session.add(Poll(**remote_poll_row(status_id, account_id, values)))
        return
    if list(values["options"]) != list(poll.options) or values["multiple"] != poll.multiple:
        await session.execute(delete(PollVote).where(PollVote.poll_id == poll.id))
        poll.options, poll.multiple = values["options"], values["multiple"]
    moved = poll.expires_at != values["expires_at"]
    poll.tallies = values["tallies"]
    poll.votes_count = sum(values["tallies"])
    poll.voters_count = values["voters_count"]
    poll.expires_at = values["expires_at"]
    poll.updated_at = utcnow()
    if moved:  # closed early, or extended: local voters hear of the end when it comes
        await session.flush()
        await schedule_poll_end(session, poll)


async def _choices_of(session: AsyncSession, poll_id: int, account_id: int) -> set[int]:
    rows = await session.execute(
        select(PollVote.choice).where(PollVote.poll_id == poll_id, PollVote.account_id == account_id)
    )
    return set(rows.scalars())


async def add_votes(
    session: AsyncSession,
    poll: Poll,
    voter: Account,
    choices: Sequence[int],
    *,
    uris: Iterable[str | None] | None = None,
) -> list[PollVote]:
    """Count `voter`'s choices in `poll` (locked by the caller); VoteRefused as Mastodon would refuse them.

    `uris` are the votes' `Note` ids (received votes), one per choice."""
    if is_expired(poll):
        raise VoteRefused("The poll has already ended")
    if voter.id == poll.account_id:
        raise VoteRefused("You cannot vote in your own polls")
    if not choices or any(not 0 <= choice < len(poll.options) for choice in choices):
        raise VoteRefused("The chosen vote option does not exist")
    if len(set(choices)) != len(choices) or (not poll.multiple and len(choices) > 1):
        raise VoteRefused("The chosen vote option does not exist")
    earlier = await _choices_of(session, poll.id, voter.id)
    if (earlier and not poll.multiple) or earlier.intersection(choices):
        raise VoteRefused("You have already voted on this poll")
    votes = [
        PollVote(poll_id=poll.id, account_id=voter.id, choice=choice, uri=uri)
        for choice, uri in zip(choices, uris or [None] * len(choices), strict=True)
    ]
    session.add_all(votes)
    tallies = list(poll.tallies) + [0] * (len(poll.options) - len(poll.tallies))
    for choice in choices:
        tallies[choice] += 1
    poll.tallies = tallies
    poll.votes_count += len(choices)
    if not earlier:
        poll.voters_count = (poll.voters_count or 0) + 1
    poll.updated_at = utcnow()
    await session.flush()
    return votes


async def local_voter_ids(session: AsyncSession, poll_id: int) -> list[int]:
    """The local accounts that voted in a poll."""
    rows = await session.execute(
        select(PollVote.account_id)
        .join(Account, Account.id == PollVote.account_id)
        .where(PollVote.poll_id == poll_id, Account.domain.is_(None))
        .distinct()
    )
    return list(rows.scalars())


async def remote_voters(session: AsyncSession, poll_id: int) -> list[Account]:
    """The remote accounts that voted in a poll (they hear of its counts)."""
    rows = await session.execute(
        select(Account)
        .where(
            Account.id.in_(select(PollVote.account_id).where(PollVote.poll_id == poll_id)),
            Account.domain.is_not(None),
        )
        .order_by(Account.id)
    )
    return list(rows.scalars())


async def schedule_poll_end(session: AsyncSession, poll: Poll) -> None:
    """The job that ends `poll` at its `expires_at` (once per end time: an edit moving it adds another, and
    the earlier one finds the time changed and does nothing)."""
    if poll.expires_at is None:
        return
    ends = poll.expires_at.isoformat()
    await enqueue(
        session,
        POLLS_QUEUE,
        {"kind": "end", "poll_id": poll.id, "expires_at": ends},
        run_at=poll.expires_at,
        dedupe_key=f"end {poll.id} {ends}",
    )


async def schedule_poll_update(session: AsyncSession, poll: Poll) -> None:
    """The coalesced `Update` of a local poll's counts, sent at the end of the current window; votes
    meanwhile join it (same dedupe key). Hidden totals are not announced until the end."""
    if poll.hide_totals:
        return
    now = utcnow()
    window = int(now.timestamp() // UPDATE_WINDOW.total_seconds())
    await enqueue(
        session,
        POLLS_QUEUE,
        {"kind": "update", "poll_id": poll.id},
        run_at=datetime.fromtimestamp((window + 1) * UPDATE_WINDOW.total_seconds(), now.tzinfo),
        dedupe_key=f"update {poll.id} {window}",
    )
