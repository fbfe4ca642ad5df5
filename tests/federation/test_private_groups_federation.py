"""A private working group (a locked `Group` actor, `manuallyApprovesFollowers`) on Plein A, joined from A and
from Plein B: each join waits as a request until a moderator answers it through the client API
(`/api/v1/plein/groups/:id/join_requests`); an accepted requester on B gets the group's `Accept` and the
group's announces, a declined one its `Reject`; a waiting requester's post to the group is not announced;
someone who does not moderate the group is refused (403, JSON error) and changes nothing. A on SQLite and
on PostgreSQL, B on SQLite."""

from __future__ import annotations

from outbox.actions import follow, post_status
from storage.groups import add_moderator, create_group
from storage.models import AuditEntry, Follow, FollowRequest
from storage.urls import LocalUrls
from support.federation import settle
from support.groups import group_boost, in_home
from support.oauth import bearer, make_token


async def test_moderators_answer_join_requests_of_a_private_group(group_pair):
    a, b = group_pair
    async with a.ctx.db.transaction() as session:
        group = await create_group(session, LocalUrls(a.ctx.base_url), "besloten", private=True)
    mod, alice = await a.local("moderator"), await a.local("alice")
    async with a.ctx.db.transaction() as session:
        assert await add_moderator(session, group, mod)
    bob, carol = await b.local("bob"), await b.local("carol")
    group_on_b = await b.resolve(group, a)
    assert group_on_b.locked  # B read `manuallyApprovesFollowers` from the group's actor

    await follow(a.ctx, alice, group)
    for requester in (bob, carol):
        await follow(b.ctx, requester, group_on_b)
    await settle(a, b)
    assert await a.count(Follow, Follow.target_account_id == group.id) == 0
    assert await a.count(FollowRequest, FollowRequest.target_account_id == group.id) == 3

    # bob is still waiting: his post to the group is not announced.
    early = await post_status(b.ctx, bob, text=f"@besloten@{a.domain} mag ik erbij?")
    await settle(a, b)
    assert await group_boost(a, group.uri, early.uri) is None

    base = f"/api/v1/plein/groups/{group.id}/join_requests"
    mod_token, alice_token = await make_token(a.ctx, "moderator"), await make_token(a.ctx, "alice")
    async with a.running.client(headers=bearer(alice_token)) as as_alice:
        refused = await as_alice.get(base)
        assert refused.status_code == 403 and "does not moderate" in refused.json()["error"]
        refused = await as_alice.post(f"{base}/{alice.id}/authorize")
        assert refused.status_code == 403 and "error" in refused.json()
    assert await a.count(Follow, Follow.target_account_id == group.id) == 0

    bob_on_a = await a.account(bob.uri)
    carol_on_a = await a.account(carol.uri)
    assert bob_on_a is not None and carol_on_a is not None
    async with a.running.client(headers=bearer(mod_token)) as as_mod:
        waiting = await as_mod.get(base)
        assert waiting.status_code == 200
        assert {entry["id"] for entry in waiting.json()} == {
            str(alice.id),
            str(bob_on_a.id),
            str(carol_on_a.id),
        }
        for requester in (alice, bob_on_a):
            answered = await as_mod.post(f"{base}/{requester.id}/authorize")
            assert answered.status_code == 200 and answered.json()["member"] is True
        declined = await as_mod.post(f"{base}/{carol_on_a.id}/reject")
        assert declined.status_code == 200 and declined.json()["member"] is False
        again = await as_mod.post(f"{base}/{carol_on_a.id}/reject")
        assert again.status_code == 404 and "error" in again.json()
        assert (await as_mod.get(base)).json() == []
    await settle(a, b)
    assert await a.count(Follow, Follow.target_account_id == group.id) == 2
    assert await b.count(Follow, Follow.account_id == bob.id, Follow.target_account_id == group_on_b.id) == 1
    assert await b.count(Follow, Follow.account_id == carol.id) == 0
    assert await b.count(FollowRequest, FollowRequest.account_id == carol.id) == 0  # the Reject arrived
    assert await a.count(AuditEntry, AuditEntry.action == "group.join.accept") == 2
    assert await a.count(AuditEntry, AuditEntry.action == "group.join.reject") == 1

    # Now a member, bob's post is announced to alice on A.
    post = await post_status(b.ctx, bob, text=f"@besloten@{a.domain} dank, agenda volgt")
    await settle(a, b)
    boost = await group_boost(a, group.uri, post.uri)
    assert boost is not None and await in_home(a, alice.id, boost.id)
