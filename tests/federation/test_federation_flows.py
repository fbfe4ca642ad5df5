"""Federation between three real Plein instances: follows (open and locked), posts, replies, mentions,
boosts, favourites, edits and deletes propagate; unfollow stops delivery; block stops interaction."""

from __future__ import annotations

from outbox.actions import (
    authorize_follow_request,
    block,
    delete_status,
    edit_status,
    favourite,
    follow,
    post_status,
    reblog,
    unfollow,
)
from storage.activities import create_activity_of
from storage.models import Follow, FollowRequest, HomeFeedEntry, Job, Status
from support.federation import Instance, settle
from support.outbox_helpers import delivery_jobs


async def _home_feed_has(instance: Instance, reader_id: int, status_uri: str) -> bool:
    status = await instance.status(status_uri)
    if status is None:
        return False
    return (
        await instance.count(
            HomeFeedEntry, HomeFeedEntry.account_id == reader_id, HomeFeedEntry.status_id == status.id
        )
        == 1
    )


async def test_follow_post_reply_mention_boost_favourite_edit_delete(trio):
    a, b, _ = trio
    alice, bob = await a.local("alice"), await b.local("bob")
    bob_on_a = await a.resolve(bob, b)

    await follow(a.ctx, alice, bob_on_a)
    await settle(a, b)
    alice_on_b = await b.account(alice.uri)
    assert alice_on_b is not None
    assert await b.count(Follow, Follow.account_id == alice_on_b.id, Follow.target_account_id == bob.id) == 1
    assert await a.count(Follow, Follow.account_id == alice.id, Follow.target_account_id == bob_on_a.id) == 1
    assert len(await b.notifications(bob, "follow")) == 1

    # bob posts: it lands in alice's home timeline on A
    post = await post_status(b.ctx, bob, text="Hello from B #plein")
    await settle(a, b)
    assert await _home_feed_has(a, alice.id, post.uri)
    copy = await a.status(post.uri)
    assert copy is not None and "Hello from B" in copy.content

    # alice replies, mentioning bob: bob gets the reply and a mention notification on B
    reply = await post_status(a.ctx, alice, text=f"@bob@{b.domain} welcome!", in_reply_to_id=copy.id)
    await settle(a, b)
    reply_on_b = await b.status(reply.uri)
    assert reply_on_b is not None and reply_on_b.in_reply_to_id == post.id
    assert len(await b.notifications(bob, "mention")) == 1

    # boost and favourite notify bob on B
    await reblog(a.ctx, alice, copy.id)
    await favourite(a.ctx, alice, copy.id)
    await settle(a, b)
    assert len(await b.notifications(bob, "reblog")) == 1
    assert len(await b.notifications(bob, "favourite")) == 1

    # bob edits: A's copy follows
    await edit_status(b.ctx, bob, post.id, text="Hello from B, edited")
    await settle(a, b)
    assert "edited" in (await a.status(post.uri)).content

    # bob deletes: A's copy is gone
    await delete_status(b.ctx, bob, post.id)
    await settle(a, b)
    gone = await a.status(post.uri)
    assert gone is None or gone.deleted_at is not None
    assert not await _home_feed_has(a, alice.id, post.uri)


async def test_locked_account_request_then_approve(trio):
    a, _, c = trio
    alice, carol = await a.local("alice"), await c.local("carol", locked=True)
    carol_on_a = await a.resolve(carol, c)

    await follow(a.ctx, alice, carol_on_a)
    await settle(a, c)
    alice_on_c = await c.account(alice.uri)
    assert alice_on_c is not None
    assert await c.count(FollowRequest, FollowRequest.account_id == alice_on_c.id) == 1
    assert await a.count(Follow, Follow.account_id == alice.id) == 0
    assert len(await c.notifications(carol, "follow_request")) == 1

    await authorize_follow_request(c.ctx, carol, alice_on_c)
    await settle(a, c)
    assert (
        await a.count(Follow, Follow.account_id == alice.id, Follow.target_account_id == carol_on_a.id) == 1
    )
    assert await a.count(FollowRequest, FollowRequest.account_id == alice.id) == 0

    secret = await post_status(c.ctx, carol, text="followers only", visibility="private")
    await settle(a, c)
    assert await _home_feed_has(a, alice.id, secret.uri)


async def test_post_reaches_followers_on_two_instances_and_unfollow_stops_delivery(trio):
    a, b, c = trio
    alice, bob, carol = await a.local("alice"), await b.local("bob"), await c.local("carol")
    await follow(b.ctx, bob, await b.resolve(alice, a))
    alice_on_c = await c.resolve(alice, a)
    await follow(c.ctx, carol, alice_on_c)
    await settle(a, b, c)

    first = await post_status(a.ctx, alice, text="to both")
    await settle(a, b, c)
    assert await _home_feed_has(b, bob.id, first.uri)
    assert await _home_feed_has(c, carol.id, first.uri)

    await unfollow(c.ctx, carol, alice_on_c)
    await settle(a, b, c)
    second = await post_status(a.ctx, alice, text="only to B now")
    inboxes = {job.payload["inbox"] for job in await _jobs_for(a, second)}
    assert inboxes == {f"{b.running.base_url}/inbox"}
    await settle(a, b, c)
    assert await _home_feed_has(b, bob.id, second.uri)
    assert await c.status(second.uri) is None


async def _jobs_for(instance: Instance, status: Status) -> list[Job]:
    async with instance.ctx.db.read() as session:
        activity = await create_activity_of(session, status.id)
    return [job for job in await delivery_jobs(instance.ctx) if job.payload["activity_id"] == activity.id]


async def test_block_stops_interaction(trio):
    a, b, _ = trio
    alice, bob = await a.local("alice"), await b.local("bob")
    bob_on_a = await a.resolve(bob, b)
    await follow(a.ctx, alice, bob_on_a)
    await settle(a, b)
    alice_on_b = await b.account(alice.uri)
    post = await post_status(b.ctx, bob, text="before the block")
    await settle(a, b)

    await block(b.ctx, bob, alice_on_b)
    await settle(a, b)
    assert await a.count(Follow, Follow.account_id == alice.id) == 0  # the Block dropped alice's follow on A

    later = await post_status(b.ctx, bob, text="after the block")
    await settle(a, b)
    assert await a.status(later.uri) is None

    # alice can still try to mention and favourite; nothing reaches bob
    copy = await a.status(post.uri)
    await post_status(a.ctx, alice, text=f"hey @bob@{b.domain}")
    try:
        await favourite(a.ctx, alice, copy.id)
    except Exception as refused:  # A may already know about the block
        assert getattr(refused, "status_code", None) in (403, 404)
    await settle(a, b)
    assert await b.notifications(bob, "mention") == []
    assert await b.notifications(bob, "favourite") == []


async def test_direct_message_reaches_only_the_mentioned(trio):
    a, b, c = trio
    alice, bob, carol = await a.local("alice"), await b.local("bob"), await c.local("carol")
    await follow(c.ctx, carol, await c.resolve(alice, a))
    await settle(a, b, c)
    dm = await post_status(a.ctx, alice, text=f"@bob@{b.domain} just you", visibility="direct")
    await settle(a, b, c)
    assert len(await b.notifications(bob, "mention")) == 1
    assert await c.status(dm.uri) is None
