"""One test per activity handler, delivered through the real HTTP endpoint and processed by the worker."""

from __future__ import annotations

import argparse
import contextlib
import io
from datetime import UTC, datetime

from sqlalchemy import func, select

import moderation
from apub.hosts import canonical_host
from plein.admin import report_command
from storage.account_domain_blocks import block_domain
from storage.models import (
    Account,
    Activity,
    Block,
    Favourite,
    Follow,
    FollowRequest,
    HomeFeedEntry,
    Job,
    MediaAttachment,
    Mention,
    Notification,
    Poll,
    Report,
    Status,
    StatusEdit,
    StatusTag,
    Tag,
)
from storage.urls import LocalUrls
from support.inbox_world import InboxWorld

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


async def _accepted(world: InboxWorld, activity: dict, signer=None) -> None:
    response = await world.deliver(activity, signer or world.ann)
    assert response.status_code == 202, response.text
    await world.drain()


async def _job_states(world: InboxWorld) -> list[tuple[str, str | None]]:
    async with world.ctx.db.read() as session:
        rows = await session.execute(select(Job.state, Job.last_error).where(Job.queue == "inbox"))
        return [tuple(row) for row in rows]


async def _local_status(world: InboxWorld, author: Account, content: str = "mine") -> Status:
    async with world.ctx.db.transaction() as session:
        status = Status(uri="", account_id=author.id, local=True, content=content, visibility="public")
        session.add(status)
        await session.flush()
        status.uri = LocalUrls(world.instance.base_url).status(author.username, status.id)
    return status


async def test_follow_is_auto_accepted_and_the_accept_delivered(any_world: InboxWorld) -> None:
    world = any_world
    follow = world.ann.activity("Follow", world.alice.uri)
    await _accepted(world, follow)
    row = await world.scalar(select(Follow).where(Follow.target_account_id == world.alice.id))
    assert row is not None and row.uri == follow["id"]
    assert await world.scalar(select(Account.followers_count).where(Account.id == world.alice.id)) == 1
    assert await world.scalar(select(Notification.notification_type)) == "follow"
    accept = await world.scalar(select(Activity).where(Activity.activity_type == "Accept"))
    assert accept.payload["object"]["id"] == follow["id"]
    delivered = world.remote.posted_to("/users/ann/inbox")
    assert [item["type"] for item in delivered] == ["Accept"]


async def test_follow_of_locked_account_is_a_request(any_world: InboxWorld) -> None:
    world = any_world
    await _accepted(world, world.ann.activity("Follow", world.bob.uri))
    assert await world.scalar(select(func.count()).select_from(Follow)) == 0
    assert await world.scalar(
        select(FollowRequest.uri).where(FollowRequest.target_account_id == world.bob.id)
    )
    assert await world.scalar(select(Notification.notification_type)) == "follow_request"
    assert await world.scalar(select(func.count()).select_from(Activity)) == 0


async def _our_follow_request(world: InboxWorld) -> tuple[Account, str]:
    from webfinger.resolve import resolve_actor

    ann = await resolve_actor(world.ctx, world.ann.uri)
    follow_uri = f"{world.instance.base_url}/activities/1234"
    async with world.ctx.db.transaction() as session:
        session.add(FollowRequest(account_id=world.alice.id, target_account_id=ann.id, uri=follow_uri))
    return ann, follow_uri


async def test_accept_with_embedded_follow_makes_the_follow(any_world: InboxWorld) -> None:
    world = any_world
    ann, follow_uri = await _our_follow_request(world)
    embedded = {
        "id": follow_uri,
        "type": "Follow",
        "actor": {"id": world.alice.uri, "type": "Person"},
        "object": ann.uri,
    }
    await _accepted(world, world.ann.activity("Accept", embedded))
    assert await world.scalar(select(Follow.uri).where(Follow.account_id == world.alice.id)) == follow_uri
    assert await world.scalar(select(func.count()).select_from(FollowRequest)) == 0
    assert await world.scalar(select(Account.following_count).where(Account.id == world.alice.id)) == 1


async def test_reject_drops_the_request(world: InboxWorld) -> None:
    _, follow_uri = await _our_follow_request(world)
    await _accepted(world, world.ann.activity("Reject", follow_uri))
    assert await world.scalar(select(func.count()).select_from(FollowRequest)) == 0
    assert await world.scalar(select(func.count()).select_from(Follow)) == 0


async def test_undo_follow(any_world: InboxWorld) -> None:
    world = any_world
    follow = world.ann.activity("Follow", world.alice.uri)
    await _accepted(world, follow)
    await _accepted(world, world.ann.activity("Undo", {k: v for k, v in follow.items() if k != "@context"}))
    assert await world.scalar(select(func.count()).select_from(Follow)) == 0
    assert await world.scalar(select(Account.followers_count).where(Account.id == world.alice.id)) == 0


async def test_undo_accept_ends_our_follow(world: InboxWorld) -> None:
    ann, follow_uri = await _our_follow_request(world)
    accept = world.ann.activity("Accept", follow_uri)
    await _accepted(world, accept)
    assert await world.scalar(select(func.count()).select_from(Follow)) == 1
    embedded = {"id": accept["id"], "type": "Accept", "actor": world.ann.uri, "object": follow_uri}
    await _accepted(world, world.ann.activity("Undo", embedded))
    assert await world.scalar(select(func.count()).select_from(Follow)) == 0


async def test_create_note_with_everything(any_world: InboxWorld) -> None:
    world = any_world
    await world.follow_locally(world.alice, world.ann)
    note = world.ann.note(
        '<p>Hi <a href="' + world.alice.uri + '" class="u-url mention">@alice</a> #Tea'
        ' <script>alert(1)</script><a href="javascript:alert(2)" onclick="x()">x</a></p>',
        summary="<b>cw</b>",
        contentMap={"fr": "<p>Salut</p>"},
        to=PUBLIC,
        cc=world.ann.document["followers"],
        tag=[
            {"type": "Mention", "href": world.alice.uri, "name": "@alice"},
            {"type": "Hashtag", "href": "https://x/tags/tea", "name": "#Tea"},
        ],
        attachment=[
            {
                "type": "Document",
                "mediaType": "image/png",
                "url": f"{world.remote.base_url}/a.png",
                "name": "alt",
                "width": 4,
            }
        ],
    )
    await _accepted(world, world.ann.activity("Create", note))
    status = await world.scalar(select(Status).where(Status.uri == note["id"]))
    assert status.visibility == "public" and status.spoiler_text == "cw" and status.sensitive
    assert status.language == "fr"
    assert (
        "<script" not in status.content
        and "javascript:" not in status.content
        and "onclick" not in status.content
    )
    assert 'rel="nofollow noopener noreferrer"' in status.content
    assert await world.scalar(select(Tag.name).join(StatusTag)) == "tea"
    assert await world.scalar(select(Mention.account_id)) == world.alice.id
    media = await world.scalar(select(MediaAttachment))
    assert media.media_type == "image" and media.description == "alt" and media.meta == {"width": 4}
    assert (
        await world.scalar(select(HomeFeedEntry.account_id).where(HomeFeedEntry.status_id == status.id))
        == world.alice.id
    )
    assert await world.scalar(select(Notification.notification_type)) == "mention"
    assert await world.scalar(select(Account.statuses_count).where(Account.uri == world.ann.uri)) == 1


async def test_create_reply_fetches_the_parent(world: InboxWorld) -> None:
    await world.follow_locally(world.alice, world.ann)
    parent = world.ben.note("<p>parent</p>")
    world.remote.serve(parent)
    reply = world.ann.note("<p>reply</p>", inReplyTo=parent["id"])
    await _accepted(world, world.ann.activity("Create", reply))
    stored_parent = await world.scalar(select(Status).where(Status.uri == parent["id"]))
    stored_reply = await world.scalar(select(Status).where(Status.uri == reply["id"]))
    assert stored_reply.in_reply_to_id == stored_parent.id
    assert stored_parent.replies_count == 1


async def test_unsolicited_create_is_dropped(world: InboxWorld) -> None:
    await _accepted(world, world.ann.activity("Create", world.ann.note()))
    assert await world.scalar(select(func.count()).select_from(Status)) == 0
    assert (await _job_states(world))[0][0] == "failed"


async def test_create_of_question_keeps_the_poll(world: InboxWorld) -> None:
    await world.follow_locally(world.alice, world.ann)
    question = world.ann.note(
        "<p>tea?</p>",
        type="Question",
        oneOf=[{"type": "Note", "name": "yes", "replies": {"totalItems": 3}}, {"type": "Note", "name": "no"}],
        endTime="2030-01-01T00:00:00Z",
    )
    await _accepted(world, world.ann.activity("Create", question))
    poll = await world.scalar(select(Poll))
    assert poll.options == ["yes", "no"] and poll.tallies == [3, 0] and poll.votes_count == 3
    assert poll.multiple is False and poll.expires_at == datetime(2030, 1, 1, tzinfo=UTC)
    status = await world.scalar(select(Status).where(Status.uri == question["id"]))
    assert poll.status_id == status.id and poll.account_id == status.account_id


async def test_update_note_keeps_history_and_notifies_boosters(any_world: InboxWorld) -> None:
    world = any_world
    await world.follow_locally(world.alice, world.ann)
    note = world.ann.note("<p>v1</p>")
    await _accepted(world, world.ann.activity("Create", note))
    status = await world.scalar(select(Status).where(Status.uri == note["id"]))
    async with world.ctx.db.transaction() as session:
        session.add(
            Status(
                uri=f"{world.alice.uri}/statuses/9",
                account_id=world.alice.id,
                local=True,
                reblog_of_id=status.id,
            )
        )
    edited = dict(note, content="<p>v2</p>", updated="2024-01-02T00:00:00Z")
    await _accepted(world, world.ann.activity("Update", edited))
    status = await world.scalar(select(Status).where(Status.uri == note["id"]))
    assert status.content == "<p>v2</p>" and status.edited_at is not None
    async with world.ctx.db.read() as session:
        revisions = list(
            (await session.execute(select(StatusEdit.content).order_by(StatusEdit.id))).scalars()
        )
    assert revisions == ["<p>v1</p>", "<p>v2</p>"]
    assert (
        await world.scalar(
            select(Notification.notification_type).where(Notification.account_id == world.alice.id)
        )
        == "update"
    )


async def test_update_actor_refreshes_the_profile(world: InboxWorld) -> None:
    await world.follow_locally(world.alice, world.ann)
    profile = dict(world.ann.document, name="Ann Again", summary="<p>new bio</p>")
    await _accepted(world, world.ann.activity("Update", profile))
    account = await world.scalar(select(Account).where(Account.uri == world.ann.uri))
    assert account.display_name == "Ann Again" and account.note == "<p>new bio</p>"


async def test_delete_note_leaves_a_tombstone_and_ignores_a_later_create(any_world: InboxWorld) -> None:
    world = any_world
    await world.follow_locally(world.alice, world.ann)
    note = world.ann.note()
    create = world.ann.activity("Create", note)
    await _accepted(world, create)
    await _accepted(world, world.ann.activity("Delete", {"id": note["id"], "type": "Tombstone"}))
    status = await world.scalar(select(Status).where(Status.uri == note["id"]))
    assert status.deleted_at is not None
    assert await world.scalar(select(func.count()).select_from(HomeFeedEntry)) == 0
    await _accepted(world, world.ann.activity("Create", note))  # a replay under a new activity id
    assert await world.scalar(select(func.count()).select_from(Status)) == 1
    assert (await world.scalar(select(Status).where(Status.uri == note["id"]))).deleted_at is not None


async def test_delete_before_create_is_remembered(world: InboxWorld) -> None:
    await world.follow_locally(world.alice, world.ann)
    note = world.ann.note()
    await _accepted(world, world.ann.activity("Delete", note["id"]))
    await _accepted(world, world.ann.activity("Create", note))
    assert (await world.scalar(select(Status).where(Status.uri == note["id"]))).deleted_at is not None


async def test_delete_actor_removes_content_and_follows(any_world: InboxWorld) -> None:
    world = any_world
    await world.follow_locally(world.alice, world.ann)
    await _accepted(world, world.ann.activity("Follow", world.alice.uri))
    await _accepted(world, world.ann.activity("Create", world.ann.note()))
    await _accepted(world, world.ann.activity("Delete", world.ann.uri))
    assert await world.scalar(select(func.count()).select_from(Follow)) == 0
    assert (
        await world.scalar(select(func.count()).select_from(Status).where(Status.deleted_at.is_(None))) == 0
    )
    assert await world.scalar(select(Account.followers_count).where(Account.id == world.alice.id)) == 0


async def test_like_and_undo_like(any_world: InboxWorld) -> None:
    world = any_world
    status = await _local_status(world, world.alice)
    like = world.ann.activity("Like", status.uri)
    await _accepted(world, like)
    assert await world.scalar(select(Status.favourites_count).where(Status.id == status.id)) == 1
    assert await world.scalar(select(Notification.notification_type)) == "favourite"
    await _accepted(world, world.ann.activity("Undo", like["id"]))
    assert await world.scalar(select(func.count()).select_from(Favourite)) == 0
    assert await world.scalar(select(Status.favourites_count).where(Status.id == status.id)) == 0


async def test_announce_of_local_status_and_undo(any_world: InboxWorld) -> None:
    world = any_world
    status = await _local_status(world, world.alice)
    announce = world.ann.activity("Announce", status.uri, to=[PUBLIC])
    await _accepted(world, announce)
    boost = await world.scalar(select(Status).where(Status.uri == announce["id"]))
    assert boost.reblog_of_id == status.id and boost.visibility == "public"
    assert await world.scalar(select(Status.reblogs_count).where(Status.id == status.id)) == 1
    assert await world.scalar(select(Notification.notification_type)) == "reblog"
    await _accepted(
        world, world.ann.activity("Undo", {"id": announce["id"], "type": "Announce", "actor": world.ann.uri})
    )
    assert (await world.scalar(select(Status).where(Status.uri == announce["id"]))).deleted_at is not None
    assert await world.scalar(select(Status.reblogs_count).where(Status.id == status.id)) == 0


async def test_announce_of_unknown_remote_status_fetches_it(world: InboxWorld) -> None:
    await world.follow_locally(world.alice, world.ann)
    original = world.ben.note("<p>worth a boost</p>")
    world.remote.serve(original)
    announce = world.ann.activity("Announce", original["id"], to=[PUBLIC])
    await _accepted(world, announce)
    stored = await world.scalar(select(Status).where(Status.uri == original["id"]))
    assert stored is not None and stored.content == "<p>worth a boost</p>"
    boost = await world.scalar(select(Status).where(Status.uri == announce["id"]))
    assert boost.reblog_of_id == stored.id
    assert await world.scalar(select(HomeFeedEntry.status_id)) == boost.id


async def test_block_removes_follows_both_ways_and_undo(any_world: InboxWorld) -> None:
    world = any_world
    await world.follow_locally(world.alice, world.ann)
    await _accepted(world, world.ann.activity("Follow", world.alice.uri))
    block = world.ann.activity("Block", world.alice.uri)
    await _accepted(world, block)
    assert await world.scalar(select(func.count()).select_from(Follow)) == 0
    assert await world.scalar(select(func.count()).select_from(Block)) == 1
    await _accepted(world, world.ann.activity("Undo", block["id"]))
    assert await world.scalar(select(func.count()).select_from(Block)) == 0


async def test_move_with_also_known_as_moves_local_followers(any_world: InboxWorld) -> None:
    world = any_world
    await world.follow_locally(world.alice, world.ann)
    world.ben.document["alsoKnownAs"] = [world.ann.uri]
    await _accepted(world, world.ann.activity("Move", world.ann.uri, target=world.ben.uri))
    ben = await world.scalar(select(Account).where(Account.uri == world.ben.uri))
    ann = await world.scalar(select(Account).where(Account.uri == world.ann.uri))
    assert ann.moved_to_account_id == ben.id
    assert await world.scalar(select(FollowRequest.target_account_id)) == ben.id
    assert await world.scalar(select(func.count()).select_from(Follow)) == 0
    assert [item["type"] for item in world.remote.posted_to("/users/ben/inbox")] == ["Follow"]


async def test_flag_is_listed_by_the_cli(world: InboxWorld) -> None:
    status = await _local_status(world, world.alice)
    await _accepted(
        world, world.eve.activity("Flag", [world.alice.uri, status.uri], content="spam"), world.eve
    )
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        await report_command(world.ctx, argparse.Namespace(action="list"))
    assert world.alice.uri in output.getvalue() and "spam" in output.getvalue()
    assert "1 status(es)" in output.getvalue()


async def test_flag_from_a_domain_that_rejects_reports_is_dropped(any_world: InboxWorld) -> None:
    world = any_world
    eve_host = canonical_host(world.eve.uri)
    await moderation.block_domain(world.ctx, eve_host, actor="t", severity="noop", reject_reports=True)
    flag = world.eve.activity("Flag", [world.alice.uri], content="spam")
    await _accepted(world, flag, world.eve)
    assert await world.scalar(select(func.count()).select_from(Report)) == 0
    # The same report once the domain no longer rejects reports: it was the block that dropped it.
    await moderation.block_domain(world.ctx, eve_host, actor="t", severity="noop")
    await _accepted(world, world.eve.activity("Flag", [world.alice.uri], content="spam"), world.eve)
    assert await world.scalar(select(func.count()).select_from(Report)) == 1


async def test_unknown_activity_is_accepted_and_ignored(world: InboxWorld) -> None:
    await _accepted(world, world.ann.activity("Listen", f"{world.remote.base_url}/songs/1"))
    assert await _job_states(world) == [("done", None)]


async def test_follow_from_a_domain_the_user_blocks_is_rejected(any_world: InboxWorld) -> None:
    world = any_world
    async with world.ctx.db.transaction() as session:
        await block_domain(session, world.alice.id, canonical_host(world.ann.uri))
    follow = world.ann.activity("Follow", world.alice.uri)
    await _accepted(world, follow)
    assert await world.scalar(select(func.count()).select_from(Follow)) == 0
    assert await world.scalar(select(func.count()).select_from(Notification)) == 0
    assert [item["type"] for item in world.remote.posted_to("/users/ann/inbox")] == ["Reject"]
