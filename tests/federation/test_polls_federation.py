"""Polls between two real Plein instances, both ways, as Mastodon federates them: a local poll goes out as a
`Question`, a remote vote comes back as `Create(Note)` with the option's `name`, the author's server sends
`Update` with the new counts (coalesced by the `polls` queue, made due here by moving the job), and the end
of a poll closes it on both sides and notifies the voters."""

from __future__ import annotations

from sqlalchemy import select

from outbox.actions import follow, post_status, vote
from outbox.errors import Unprocessable
from plein.jobs import job_handlers
from storage.models import Account, Activity, Notification, Poll, PollVote, Status
from storage.polls import PollRequest
from storage.types import utcnow
from storage.worker import drain
from support.federation import Instance, settle
from support.polls import make_poll_jobs_due


async def _poll_of(instance: Instance, status_uri: str) -> Poll:
    async with instance.ctx.db.read() as session:
        status = (await session.execute(select(Status).where(Status.uri == status_uri))).scalar_one()
        return (await session.execute(select(Poll).where(Poll.status_id == status.id))).scalar_one()


async def test_local_poll_voted_from_another_server_and_counts_come_back(trio) -> None:
    a, b, _ = trio
    alice, bob, bea = await a.local("alice"), await b.local("bob"), await b.local("bea")
    for reader in (bob, bea):
        await follow(b.ctx, reader, await b.resolve(alice, a))
    await settle(a, b)

    posted = await post_status(
        a.ctx, alice, text="Lunch?", poll=PollRequest(options=["soup", "salad"], expires_in=3600)
    )
    await settle(a, b)
    copy = await _poll_of(b, posted.uri)
    assert copy.options == ["soup", "salad"] and copy.tallies == [0, 0] and copy.multiple is False
    assert copy.expires_at is not None

    await vote(b.ctx, bob, copy.id, [1])
    await vote(b.ctx, bea, copy.id, [1])
    await settle(a, b)
    original = await _poll_of(a, posted.uri)
    assert original.tallies == [0, 2] and original.votes_count == 2 and original.voters_count == 2
    async with a.ctx.db.read() as session:
        uris = set((await session.execute(select(PollVote.uri))).scalars())
    assert len(uris) == 2 and {uri.split("#votes/")[0] for uri in uris} == {bob.uri, bea.uri}

    # The counts go back in one coalesced Update once its window ends; it is no edit on B.
    assert (await _poll_of(b, posted.uri)).voters_count == 2  # B counted its own voters already
    await make_poll_jobs_due(a.ctx.db)
    await settle(a, b)
    assert await a.count(Activity, Activity.activity_type == "Update", Activity.status_id == posted.id) == 1
    refreshed = await _poll_of(b, posted.uri)
    assert refreshed.tallies == [0, 2] and refreshed.voters_count == 2
    assert (await b.status(posted.uri)).edited_at is None

    # The end: A sends the closed Question, both voters on B and alice on A hear of it.
    await make_poll_jobs_due(a.ctx.db, ending=True)
    await settle(a, b)
    assert len(await a.notifications(alice, "poll")) == 1
    await drain(b.ctx.db, job_handlers(b.ctx))
    assert len(await b.notifications(bob, "poll")) == 1 and len(await b.notifications(bea, "poll")) == 1
    closed = await _poll_of(b, posted.uri)
    assert closed.expires_at is not None and closed.expires_at <= utcnow()


async def test_remote_question_shown_and_answered(trio) -> None:
    a, b, _ = trio
    alice, bob = await a.local("alice"), await b.local("bob")
    await follow(a.ctx, alice, await a.resolve(bob, b))
    await settle(a, b)
    posted = await post_status(
        b.ctx,
        bob,
        text="Which days?",
        poll=PollRequest(options=["mon", "tue", "wed"], expires_in=600, multiple=True),
    )
    await settle(a, b)
    copy = await _poll_of(a, posted.uri)
    assert copy.multiple is True and copy.options == ["mon", "tue", "wed"]

    await vote(a.ctx, alice, copy.id, [0, 2])
    await settle(a, b)
    original = await _poll_of(b, posted.uri)
    assert original.tallies == [1, 0, 1] and original.voters_count == 1
    # The vote was a Create(Note) to bob only, not a reply status on either side.
    assert await b.count(Status, Status.in_reply_to_id == posted.id) == 0
    assert await a.count(Status, Status.account_id == alice.id) == 0
    async with a.ctx.db.read() as session:
        creates = (
            await session.execute(
                select(Activity).where(Activity.account_id == alice.id, Activity.activity_type == "Create")
            )
        ).scalars()
        payloads = [create.payload for create in creates]
    # One Create(Note) per chosen option, each to bob only.
    assert sorted(payload["object"]["name"] for payload in payloads) == ["mon", "wed"]
    for payload in payloads:
        note = payload["object"]
        assert note["type"] == "Note" and note["inReplyTo"] == posted.uri
        assert payload["to"] == [bob.uri] and note["to"] == [bob.uri]

    # A second vote on the same option is refused; B's counts come back to A unchanged.
    await vote_again_is_refused(a, alice, copy.id)
    await make_poll_jobs_due(b.ctx.db)
    await settle(a, b)
    assert (await _poll_of(a, posted.uri)).tallies == [1, 0, 1]
    assert await b.count(Notification, Notification.notification_type == "poll") == 0


async def vote_again_is_refused(instance: Instance, account: Account, poll_id: int) -> None:
    try:
        await vote(instance.ctx, account, poll_id, [0])
    except Unprocessable as refusal:
        assert "already voted" in str(refusal)
    else:
        raise AssertionError("a second vote on the same option was counted")
