"""Voting, and what a poll's author sends about it: the `Update` of a local poll with its counts (after
votes, coalesced, and when it ends) and, at its end, `poll` notifications to the local voters and author."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from apub.builders import build_activity
from outbox.actions._unit import Effects, after_commit, record_activity, urls_of
from outbox.actions.statuses import delivery_targets
from outbox.addressing import DeliveryTargets
from outbox.errors import NotFound, Unprocessable
from outbox.render import load_note_parts, note_activity, status_to_note
from storage.context import Context
from storage.models import Account, Poll, PollVote, Status
from storage.notify import notify
from storage.polls import (
    VoteRefused,
    add_votes,
    local_voter_ids,
    poll_by_id,
    remote_voters,
    schedule_poll_end,
    schedule_poll_update,
)
from storage.statuses import boosts_of, can_see, status_by_id


async def visible_poll(session: AsyncSession, poll_id: int, viewer_id: int | None) -> tuple[Poll, Status]:
    """A poll and its status, if the viewer may see the status; NotFound otherwise."""
    poll = await poll_by_id(session, poll_id)
    status = await status_by_id(session, poll.status_id) if poll is not None else None
    if poll is None or status is None or not await can_see(session, viewer_id, status):
        raise NotFound("Record not found")
    return poll, status


async def vote(ctx: Context, voter: Account, poll_id: int, choices: Sequence[int]) -> Poll:
    """Vote in a poll the voter can see. A local poll counts it and announces the new counts later
    (coalesced); a remote poll counts it here too and gets each choice as `Create(Note)` with the option's
    `name`, sent to the poll's author only."""
    effects = Effects()
    async with ctx.db.transaction() as session:
        await visible_poll(session, poll_id, voter.id)
        poll = await poll_by_id(session, poll_id, for_update=True)
        status = await status_by_id(session, poll.status_id) if poll is not None else None
        assert poll is not None and status is not None
        try:
            votes = await add_votes(session, poll, voter, choices)
        except VoteRefused as refusal:
            raise Unprocessable(f"Validation failed: {refusal}") from refusal
        if status.local:
            await schedule_poll_update(session, poll)
        else:
            await _send_votes(session, ctx, effects, voter, poll, status, votes)
            await schedule_poll_end(session, poll)  # its end notifies the voter
    after_commit(ctx, effects)
    return poll


async def _send_votes(
    session: AsyncSession,
    ctx: Context,
    effects: Effects,
    voter: Account,
    poll: Poll,
    status: Status,
    votes: list[PollVote],
) -> None:
    author = await session.get(Account, status.account_id)
    writer = await session.get(Account, voter.id)
    assert author is not None and writer is not None
    targets = DeliveryTargets()
    targets.add_account(author, personal=True)
    for cast in votes:
        note_uri = f"{writer.uri}#votes/{cast.id}"
        cast.uri = note_uri
        note = {
            "id": note_uri,
            "type": "Note",
            "name": poll.options[cast.choice],
            "attributedTo": writer.uri,
            "inReplyTo": status.uri,
            "to": [author.uri],
        }

        def build(uri: str, note: dict[str, Any] = note) -> dict[str, Any]:
            return build_activity("Create", uri, writer.uri, note, to=[author.uri], cc=[])

        await record_activity(
            session,
            effects,
            ctx=ctx,
            actor=writer,
            activity_type="Create",
            uri=f"{note_uri}/activity",
            build=build,
            targets=targets,
            visibility="direct",  # never listed in the voter's outbox
        )


async def send_poll_update(ctx: Context, poll_id: int) -> None:
    """`Update` of a local poll's `Question` with its counts as they are now, to where the status went and
    to the remote voters and boosters (Mastodon's `DistributePollUpdateWorker`)."""
    effects = Effects()
    async with ctx.db.transaction() as session:
        poll = await poll_by_id(session, poll_id)
        status = await status_by_id(session, poll.status_id) if poll is not None else None
        if poll is None or status is None or not status.local or status.deleted_at is not None:
            return  # deleted meanwhile: its Delete went instead
        await _record_poll_update(session, ctx, effects, poll, status)
    after_commit(ctx, effects)


async def _record_poll_update(
    session: AsyncSession, ctx: Context, effects: Effects, poll: Poll, status: Status
) -> None:
    author = await session.get(Account, status.account_id)
    assert author is not None
    parts = await load_note_parts(session, status, author)
    question = status_to_note(parts, urls_of(ctx), ctx.domain)
    targets = await delivery_targets(session, status, author, parts.mentions)
    for account in await remote_voters(session, poll.id):
        targets.add_account(account)
    for boost in await boosts_of(session, status.id):
        targets.add_account(await session.get(Account, boost.account_id))
    await record_activity(
        session,
        effects,
        ctx=ctx,
        actor=author,
        activity_type="Update",
        build=lambda uri: note_activity("Update", uri, question, published=poll.updated_at),
        targets=targets,
        status_id=status.id,
        visibility=status.visibility,
    )


async def end_poll(ctx: Context, poll_id: int, expires_at: str) -> None:
    """A poll reached its end (`expires_at`, as the job was scheduled): the local author's closed
    `Question` goes out, and the local voters — and the author of a local poll — get a `poll`
    notification. Nothing happens if the end time changed meanwhile (an edit scheduled another end)."""
    effects = Effects()
    async with ctx.db.transaction() as session:
        poll = await poll_by_id(session, poll_id)
        if poll is None or poll.expires_at is None or poll.expires_at.isoformat() != expires_at:
            return
        status = await status_by_id(session, poll.status_id)
        if status is None or status.deleted_at is not None:
            return
        recipients = await local_voter_ids(session, poll.id)
        if status.local:
            recipients.append(status.account_id)
            await _record_poll_update(session, ctx, effects, poll, status)
        for recipient in dict.fromkeys(recipients):
            event = await notify(session, recipient, status.account_id, "poll", status_id=status.id)
            if event is not None:
                effects.events.append(event)
    after_commit(ctx, effects)
