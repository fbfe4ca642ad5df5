"""A working group (FEP-1b12 `Group` actor) spanning two real Plein instances: people on A and B follow a
group on A; a member's post mentioning it is announced to every member, in their home timelines on both
instances; a non-member's post is not; a moderator takes posts out (`Undo(Announce)`, and `Delete` of a
post written on A) and bans an account (the group blocks it: no more announces, its Follow refused).
The group's instance A runs on SQLite and on PostgreSQL; B on SQLite."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from outbox.actions import follow, post_status
from outbox.actions.groups import ban_from_group, remove_from_group
from outbox.errors import Forbidden
from storage.groups import add_moderator, create_group
from storage.models import AuditEntry, Block, Follow
from storage.urls import LocalUrls
from support.federation import settle
from support.groups import group_boost, in_home


async def test_a_group_on_a_announces_members_posts_from_a_and_b_and_moderators_act(group_pair):
    a, b = group_pair
    async with a.ctx.db.transaction() as session:
        group = await create_group(session, LocalUrls(a.ctx.base_url), "werkgroep", display_name="Werkgroep")
    alice, mod = await a.local("alice"), await a.local("moderator")
    async with a.ctx.db.transaction() as session:
        assert await add_moderator(session, group, mod)
    bob, carol, dave = await b.local("bob"), await b.local("carol"), await b.local("dave")
    group_on_b = await b.resolve(group, a)
    assert group_on_b.actor_type == "Group"

    # Mastodon's API shows the group as one (`group: true`), on its own server and on B.
    async with a.running.client() as client:
        found = (await client.get("/api/v1/accounts/lookup", params={"acct": "werkgroep"})).json()
        assert found["group"] is True and found["display_name"] == "Werkgroep"
        actor = (await client.get("/users/werkgroep", headers={"Accept": "application/activity+json"})).json()
        assert actor["type"] == "Group"
        assert actor["attributedTo"] == f"{group.uri}/moderators"
        moderators = (
            await client.get(actor["attributedTo"], headers={"Accept": "application/activity+json"})
        ).json()
        assert moderators["orderedItems"] == [mod.uri]

    # alice on A, bob and carol on B join (follow); dave does not.
    await follow(a.ctx, alice, group)
    for member in (bob, carol):
        await follow(b.ctx, member, group_on_b)
    await settle(a, b)
    assert await a.count(Follow, Follow.target_account_id == group.id) == 3
    assert await b.count(Follow, Follow.target_account_id == group_on_b.id) == 2

    # bob (B) posts to the group: the group on A announces it to all its members.
    post = await post_status(b.ctx, bob, text=f"@werkgroep@{a.domain} Agenda voor dinsdag")
    await settle(a, b)
    boost_on_a = await group_boost(a, group.uri, post.uri)
    assert boost_on_a is not None
    assert await in_home(a, alice.id, boost_on_a.id)
    boost_on_b = await group_boost(b, group.uri, post.uri)
    assert boost_on_b is not None
    assert await in_home(b, carol.id, boost_on_b.id)

    # alice (A) posts to the group locally: announced to bob and carol on B.
    local_post = await post_status(a.ctx, alice, text="@werkgroep Notulen staan online")
    await settle(a, b)
    local_boost_on_b = await group_boost(b, group.uri, local_post.uri)
    assert local_boost_on_b is not None
    assert await in_home(b, carol.id, local_boost_on_b.id)

    # dave is no member: his post to the group is not announced.
    stray = await post_status(b.ctx, dave, text=f"@werkgroep@{a.domain} koop nu!")
    await settle(a, b)
    assert await a.status(stray.uri) is not None
    assert await group_boost(a, group.uri, stray.uri) is None
    assert await group_boost(b, group.uri, stray.uri) is None

    # Only a moderator may act for the group.
    copy_on_a = await a.status(post.uri)
    assert copy_on_a is not None
    with pytest.raises(Forbidden):
        await remove_from_group(a.ctx, group, alice, copy_on_a.id)

    # The moderator takes bob's post out: Undo(Announce) reaches B, the boost leaves carol's home.
    await remove_from_group(a.ctx, group, mod, copy_on_a.id)
    await settle(a, b)
    assert await group_boost(a, group.uri, post.uri) is None
    assert await group_boost(b, group.uri, post.uri) is None
    assert not await in_home(b, carol.id, boost_on_b.id)
    assert (await b.status(post.uri)).deleted_at is None  # bob's own post stays his

    # ... and alice's post, written on A: deleted, the Delete reaches B.
    await remove_from_group(a.ctx, group, mod, local_post.id)
    await settle(a, b)
    assert (await a.status(local_post.uri)).deleted_at is not None
    gone_on_b = await b.status(local_post.uri)
    assert gone_on_b is None or gone_on_b.deleted_at is not None
    assert not await in_home(b, carol.id, local_boost_on_b.id)

    # The moderator bans bob: the group blocks him, his membership ends on both sides, his posts are no
    # longer announced and he cannot join again.
    bob_on_a = await a.account(bob.uri)
    assert bob_on_a is not None
    assert await ban_from_group(a.ctx, group, mod, bob_on_a)
    await settle(a, b)
    assert await a.count(Block, Block.account_id == group.id, Block.target_account_id == bob_on_a.id) == 1
    assert await a.count(Follow, Follow.account_id == bob_on_a.id, Follow.target_account_id == group.id) == 0
    assert await b.count(Follow, Follow.account_id == bob.id, Follow.target_account_id == group_on_b.id) == 0
    with pytest.raises(Forbidden):  # B knows of the group's Block: it does not even send the Follow
        await follow(b.ctx, bob, group_on_b)
    banned_post = await post_status(b.ctx, bob, text=f"@werkgroep@{a.domain} nog een keer")
    await settle(a, b)
    assert await group_boost(a, group.uri, banned_post.uri) is None

    async with a.ctx.db.read() as session:
        actions = [entry.action for entry in (await session.execute(select(AuditEntry))).scalars()]
    assert actions.count("group.remove") == 2 and actions.count("group.ban") == 1
