"""A working group's moderation federated as Lemmy does it (FEP-1b12), between two real Plein instances: the
group on A announces its moderator's `Delete` of a post, `Block` of an account and `Undo` of that `Block`
to its members' servers; B takes the group's boost out of its members' home timelines when the announced
`Delete` is a moderator's or the group's own, and rejects (and logs) one by anybody else. A on SQLite and
on PostgreSQL, B on SQLite."""

from __future__ import annotations

import logging

from sqlalchemy import select

from outbox.actions import follow, post_status
from outbox.actions._unit import Effects, after_commit
from outbox.actions.groups import (
    announce_moderation_in,
    ban_from_group,
    moderator_activity,
    remove_from_group,
    unban_from_group,
)
from storage.groups import add_moderator, create_group
from storage.models import Account, Activity, Block, Follow
from storage.urls import LocalUrls
from support.federation import Instance, settle
from support.groups import group_boost, in_home


async def _group_with_members(a: Instance, b: Instance) -> tuple[Account, Account, Account, Account]:
    """Group `raad` on A moderated by `voorzitter`; `alice` on A, `bob` and `carol` on B are members."""
    async with a.ctx.db.transaction() as session:
        group = await create_group(session, LocalUrls(a.ctx.base_url), "raad")
    mod, alice = await a.local("voorzitter"), await a.local("alice")
    async with a.ctx.db.transaction() as session:
        assert await add_moderator(session, group, mod)
    bob, carol = await b.local("bob"), await b.local("carol")
    group_on_b = await b.resolve(group, a)
    await follow(a.ctx, alice, group)
    for member in (bob, carol):
        await follow(b.ctx, member, group_on_b)
    await settle(a, b)
    return group, mod, alice, carol


async def _announced_acts(a: Instance, group: Account) -> list[dict]:
    async with a.ctx.db.read() as session:
        rows = await session.execute(
            select(Activity.payload).where(
                Activity.account_id == group.id, Activity.activity_type == "Announce"
            )
        )
        return [payload["object"] for payload in rows.scalars() if isinstance(payload["object"], dict)]


async def _announce_as_group(a: Instance, group: Account, act: dict) -> None:
    """The group on A announces `act` to its members, and nothing else (as Lemmy does, without Plein's own
    `Undo(Announce)` or direct `Block`)."""
    effects = Effects()
    async with a.ctx.db.transaction() as session:
        await announce_moderation_in(session, a.ctx, effects, group, act)
    after_commit(a.ctx, effects)


async def _send_as_group(a: Instance, group: Account, actor_uri: str, status_uri: str) -> None:
    """The group on A announces a `Delete` of a post by `actor_uri`."""
    act = moderator_activity(
        "Delete", f"{actor_uri}#delete-{status_uri[-6:]}", actor_uri, group.uri, status_uri
    )
    await _announce_as_group(a, group, act)


async def test_a_moderators_removal_reaches_members_as_an_announced_delete(group_pair):
    a, b = group_pair
    group, mod, alice, carol = await _group_with_members(a, b)
    bob = await b.account(f"{b.ctx.base_url}/users/bob")
    assert bob is not None
    post = await post_status(b.ctx, bob, text=f"@raad@{a.domain} Vergadering om acht uur")
    await settle(a, b)
    boost_on_b = await group_boost(b, group.uri, post.uri)
    assert boost_on_b is not None and await in_home(b, carol.id, boost_on_b.id)

    copy_on_a = await a.status(post.uri)
    assert copy_on_a is not None
    await remove_from_group(a.ctx, group, mod, copy_on_a.id, reason="Regel 2: bij het onderwerp blijven")
    await settle(a, b)
    assert await group_boost(b, group.uri, post.uri) is None
    assert not await in_home(b, carol.id, boost_on_b.id)
    acts = await _announced_acts(a, group)
    assert [act["type"] for act in acts] == ["Delete"]
    assert acts[0]["actor"] == mod.uri and acts[0]["object"] == post.uri
    assert acts[0]["audience"] == group.uri and group.uri in acts[0]["cc"]
    assert acts[0]["summary"] == "Regel 2: bij het onderwerp blijven"  # the reason, as Lemmy sends it


async def test_an_announced_delete_is_read_only_from_the_group_or_its_moderators(group_pair, caplog):
    a, b = group_pair
    group, mod, alice, carol = await _group_with_members(a, b)
    bob = await b.account(f"{b.ctx.base_url}/users/bob")
    assert bob is not None
    first = await post_status(b.ctx, bob, text=f"@raad@{a.domain} eerste")
    second = await post_status(b.ctx, bob, text=f"@raad@{a.domain} tweede")
    await settle(a, b)
    assert await group_boost(b, group.uri, first.uri) is not None
    assert await group_boost(b, group.uri, second.uri) is not None

    # alice is a member but no moderator: the group's Announce of her Delete is a forgery.
    with caplog.at_level(logging.WARNING, logger="inbox.handlers.group_moderation"):
        await _send_as_group(a, group, alice.uri, first.uri)
        await settle(a, b)
    assert await group_boost(b, group.uri, first.uri) is not None
    assert any("forged group moderation" in record.getMessage() for record in caplog.records)

    # The moderator's Delete (listed in the group's attributedTo collection) and the group's own are read;
    # carol's open stream hears the boost go.
    boost_on_b = await group_boost(b, group.uri, first.uri)
    assert boost_on_b is not None
    async with b.ctx.bus.subscribe(f"user:{carol.id}") as stream:
        await _send_as_group(a, group, mod.uri, first.uri)
        await _send_as_group(a, group, group.uri, second.uri)
        await settle(a, b)
        heard = [stream.get_nowait() for _ in range(stream.qsize())]
    assert ("delete", boost_on_b.id) in [(event.kind, event.payload["status_id"]) for event in heard]
    assert await group_boost(b, group.uri, first.uri) is None
    assert await group_boost(b, group.uri, second.uri) is None
    assert (await b.status(first.uri)).deleted_at is None  # bob's post stays his


async def test_a_ban_and_its_lifting_reach_members_as_announced_block_and_undo(group_pair):
    a, b = group_pair
    group, mod, alice, carol = await _group_with_members(a, b)
    group_on_b = await b.account(group.uri)
    carol_on_a = await a.account(carol.uri)
    assert group_on_b is not None and carol_on_a is not None

    assert await ban_from_group(a.ctx, group, mod, carol_on_a, reason="spam")
    await settle(a, b)
    acts = await _announced_acts(a, group)
    assert [act["type"] for act in acts] == ["Block"] and acts[0]["summary"] == "spam"
    assert acts[0]["object"] == carol.uri and acts[0]["target"] == group.uri
    assert await b.count(Block, Block.account_id == group_on_b.id, Block.target_account_id == carol.id) == 1
    assert await b.count(Follow, Follow.account_id == carol.id) == 0
    banned_post = await post_status(b.ctx, carol, text=f"@raad@{a.domain} toch nog")
    await settle(a, b)
    assert await group_boost(a, group.uri, banned_post.uri) is None

    assert await unban_from_group(a.ctx, group, mod, carol_on_a)
    await settle(a, b)
    acts = await _announced_acts(a, group)
    assert sorted(act["type"] for act in acts) == ["Block", "Undo"]
    undo = next(act for act in acts if act["type"] == "Undo")
    assert undo["object"]["type"] == "Block" and undo["object"]["object"] == carol.uri
    assert await b.count(Block, Block.account_id == group_on_b.id) == 0
    await follow(b.ctx, carol, group_on_b)  # she may join again
    await settle(a, b)
    assert (
        await a.count(Follow, Follow.account_id == carol_on_a.id, Follow.target_account_id == group.id) == 1
    )


async def test_an_announced_ban_alone_ends_a_local_members_follow_and_its_undo_lifts_it(group_pair):
    a, b = group_pair
    group, mod, alice, carol = await _group_with_members(a, b)
    group_on_b = await b.account(group.uri)
    assert group_on_b is not None
    ban = moderator_activity("Block", f"{mod.uri}#ban-carol", mod.uri, group.uri, carol.uri, target=group.uri)

    forged = moderator_activity(
        "Block", f"{alice.uri}#ban-carol", alice.uri, group.uri, carol.uri, target=group.uri
    )
    await _announce_as_group(a, group, forged)
    await settle(a, b)
    assert await b.count(Block, Block.account_id == group_on_b.id) == 0
    assert (
        await b.count(Follow, Follow.account_id == carol.id, Follow.target_account_id == group_on_b.id) == 1
    )

    await _announce_as_group(a, group, ban)
    await settle(a, b)
    assert await b.count(Block, Block.account_id == group_on_b.id, Block.target_account_id == carol.id) == 1
    assert (
        await b.count(Follow, Follow.account_id == carol.id, Follow.target_account_id == group_on_b.id) == 0
    )

    lifted = moderator_activity("Undo", f"{mod.uri}#unban-carol", mod.uri, group.uri, ban)
    await _announce_as_group(a, group, lifted)
    await settle(a, b)
    assert await b.count(Block, Block.account_id == group_on_b.id) == 0
