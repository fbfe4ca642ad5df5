"""Posting, editing and deleting local statuses: rows, activity, fan-out and delivery jobs in one go."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from apub.vocab import PUBLIC
from outbox.actions import delete_status, edit_status, follow, post_status
from outbox.errors import Forbidden, NotFound, Unprocessable
from storage.context import Context
from storage.deliveries import DELIVER_QUEUE, FAN_OUT_QUEUE
from storage.models import Account, Follow, HomeFeedEntry, Notification, Status, StatusEdit
from support.outbox_helpers import activities, delivery_jobs, jobs_of


async def _follow_remote(ctx: Context, follower: Account, target: Account) -> None:
    # What the inbox writes when a remote Follow of a local account arrives.
    async with ctx.db.transaction() as session:
        session.add(Follow(account_id=follower.id, target_account_id=target.id))


async def test_post_public_writes_status_activity_feed_and_one_job_per_shared_inbox(
    ctx, make_local, make_remote
):
    alice = await make_local("alice")
    bob = await make_local("bob")
    await follow(ctx, bob, alice)
    for name in ("r1", "r2"):  # two followers behind one shared inbox
        await _follow_remote(ctx, await make_remote(name, "remote.example"), alice)
    await _follow_remote(ctx, await make_remote("solo", "solo.example", shared_inbox=False), alice)

    status = await post_status(ctx, alice, text="Hello #Plein world\n\nsee https://example.org.")

    assert status.content == (
        '<p>Hello <a href="https://plein.example/tags/plein" class="mention hashtag" rel="tag">#<span>Plein'
        '</span></a> world</p><p>see <a href="https://example.org" target="_blank" '
        'rel="nofollow noopener noreferrer">https://example.org</a>.</p>'
    )
    assert status.uri == f"https://plein.example/users/alice/statuses/{status.id}"
    async with ctx.db.read() as session:
        feed = set((await session.execute(select(HomeFeedEntry.account_id))).scalars())
        assert feed == {alice.id, bob.id}
        assert (await session.get(Account, alice.id)).statuses_count == 1
    [create] = await activities(ctx, "Create")
    assert create.uri == f"{status.uri}/activity"
    assert create.payload["object"]["id"] == status.uri
    assert create.payload["to"] == [PUBLIC]
    assert create.payload["object"]["tag"] == [
        {"type": "Hashtag", "href": "https://plein.example/tags/plein", "name": "#plein"}
    ]
    # The post's transaction queued one fan-out job for the followers, no delivery yet.
    assert await jobs_of(ctx, DELIVER_QUEUE) == []
    [fan_out] = await jobs_of(ctx, FAN_OUT_QUEUE)
    assert fan_out.payload["activity_id"] == create.id and fan_out.payload["followers_of"] == alice.id
    jobs = await delivery_jobs(ctx)
    assert sorted(job.payload["inbox"] for job in jobs) == [
        "https://remote.example/inbox",
        "https://solo.example/users/solo/inbox",
    ]
    assert {job.payload["activity_id"] for job in jobs} == {create.id}
    assert {job.payload["sender_id"] for job in jobs} == {alice.id}
    assert {job.host for job in jobs} == {"remote.example", "solo.example"}


async def test_mentions_are_tagged_addressed_notified_and_delivered_first(ctx, make_local, make_remote):
    alice = await make_local("alice")
    carol = await make_local("carol")
    dave = await make_remote("dave", "dave.example")
    await _follow_remote(ctx, await make_remote("fan", "fans.example"), alice)

    status = await post_status(ctx, alice, text="hi @carol and @dave@dave.example and @nobody")

    assert (
        '<a href="https://plein.example/@carol" class="u-url mention">@<span>carol</span></a>'
        in status.content
    )
    assert '<a href="https://dave.example/@dave" class="u-url mention">' in status.content
    assert "@nobody" in status.content
    [create] = await activities(ctx, "Create")
    note = create.payload["object"]
    assert {"type": "Mention", "href": dave.uri, "name": "@dave@dave.example"} in note["tag"]
    assert {"type": "Mention", "href": carol.uri, "name": "@carol@plein.example"} in note["tag"]
    assert dave.uri in note["cc"] and carol.uri in note["cc"]
    jobs = {job.payload["inbox"]: job.priority for job in await delivery_jobs(ctx)}
    assert jobs["https://dave.example/inbox"] < jobs["https://fans.example/inbox"]
    async with ctx.db.read() as session:
        [notification] = (await session.execute(select(Notification))).scalars()
    assert (notification.account_id, notification.notification_type) == (carol.id, "mention")


async def test_direct_post_goes_only_to_mentioned(ctx, make_local, make_remote):
    alice = await make_local("alice")
    await _follow_remote(ctx, await make_remote("fan", "fans.example"), alice)
    dave = await make_remote("dave", "dave.example")

    await post_status(ctx, alice, text="psst @dave@dave.example", visibility="direct")

    [create] = await activities(ctx, "Create")
    assert create.payload["to"] == [dave.uri] and create.payload["cc"] == []
    assert [job.payload["inbox"] for job in await delivery_jobs(ctx)] == ["https://dave.example/inbox"]


async def test_private_post_is_addressed_to_followers(ctx, make_local):
    alice = await make_local("alice")
    await post_status(ctx, alice, text="friends only", visibility="private", spoiler_text="cw", language="en")
    [create] = await activities(ctx, "Create")
    note = create.payload["object"]
    assert note["to"] == [alice.followers_url] and PUBLIC not in note["cc"]
    assert note["summary"] == "cw" and note["sensitive"] is True
    assert note["contentMap"] == {"en": note["content"]}


async def test_reply_links_parent_and_counts(ctx, make_local, make_remote):
    alice = await make_local("alice")
    bob = await make_local("bob")
    parent = await post_status(ctx, alice, text="question?")
    reply = await post_status(ctx, bob, text="answer", in_reply_to_id=parent.id)
    assert reply.in_reply_to_uri == parent.uri and reply.conversation_uri == parent.uri
    async with ctx.db.read() as session:
        assert (await session.get(Status, parent.id)).replies_count == 1
    create = (await activities(ctx, "Create"))[-1]
    assert create.payload["object"]["inReplyTo"] == parent.uri


async def test_reply_to_a_remote_status_is_delivered_to_its_author(ctx, make_local, make_remote):
    alice = await make_local("alice")
    dave = await make_remote("dave", "dave.example")
    async with ctx.db.transaction() as session:
        remote = Status(uri="https://dave.example/notes/1", account_id=dave.id, content="<p>hi</p>")
        session.add(remote)
    await post_status(ctx, alice, text="hello back", in_reply_to_id=remote.id)
    assert [job.payload["inbox"] for job in await delivery_jobs(ctx)] == ["https://dave.example/inbox"]


async def test_invalid_posts_are_refused(ctx, make_local):
    alice = await make_local("alice")
    with pytest.raises(Unprocessable):
        await post_status(ctx, alice, text="x" * 501)
    with pytest.raises(Unprocessable):
        await post_status(ctx, alice, text="   ")
    with pytest.raises(Unprocessable):
        await post_status(ctx, alice, text="hi", visibility="secret")
    with pytest.raises(NotFound):
        await post_status(ctx, alice, text="hi", in_reply_to_id=12345)
    async with ctx.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Status)) == 0


async def test_idempotency_key_returns_the_first_status(ctx, make_local):
    alice = await make_local("alice")
    first = await post_status(ctx, alice, text="once", idempotency_key="k1")
    second = await post_status(ctx, alice, text="once", idempotency_key="k1")
    assert first.id == second.id
    assert len(await activities(ctx, "Create")) == 1


async def test_edit_keeps_history_and_sends_update(ctx, make_local, make_remote):
    alice = await make_local("alice")
    await _follow_remote(ctx, await make_remote("fan", "fans.example"), alice)
    status = await post_status(ctx, alice, text="first")
    edited = await edit_status(ctx, alice, status.id, text="second", spoiler_text="cw")
    assert edited.content == "<p>second</p>" and edited.edited_at is not None
    async with ctx.db.read() as session:
        revisions = list((await session.execute(select(StatusEdit).order_by(StatusEdit.id))).scalars())
    assert [revision.content for revision in revisions] == ["<p>first</p>", "<p>second</p>"]
    [update] = await activities(ctx, "Update")
    assert update.payload["object"]["content"] == "<p>second</p>"
    assert update.payload["object"]["updated"]
    assert len([job for job in await delivery_jobs(ctx) if job.payload["activity_id"] == update.id]) == 1


async def test_only_the_author_edits_or_deletes(ctx, make_local):
    alice = await make_local("alice")
    bob = await make_local("bob")
    status = await post_status(ctx, alice, text="mine")
    with pytest.raises(Forbidden):
        await edit_status(ctx, bob, status.id, text="yours")
    with pytest.raises(Forbidden):
        await delete_status(ctx, bob, status.id)
    with pytest.raises(NotFound):
        await delete_status(ctx, alice, 999)


async def test_delete_leaves_a_tombstone_and_sends_delete(ctx, make_local, make_remote):
    alice = await make_local("alice")
    bob = await make_local("bob")
    await follow(ctx, bob, alice)
    await _follow_remote(ctx, await make_remote("fan", "fans.example"), alice)
    status = await post_status(ctx, alice, text="oops")

    deleted = await delete_status(ctx, alice, status.id)

    assert deleted.deleted_at is not None and deleted.text == "oops"
    async with ctx.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(HomeFeedEntry)) == 0
        assert (await session.get(Account, alice.id)).statuses_count == 0
    [delete] = await activities(ctx, "Delete")
    assert delete.payload["object"] == {
        "id": status.uri,
        "type": "Tombstone",
        "atomUri": status.uri,
        "deleted": delete.payload["object"]["deleted"],
    }
    assert [
        job.payload["inbox"] for job in await delivery_jobs(ctx) if job.payload["activity_id"] == delete.id
    ] == ["https://fans.example/inbox"]
    with pytest.raises(NotFound):
        await delete_status(ctx, alice, status.id)
