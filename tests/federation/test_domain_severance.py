"""Domain policy that severs, between real Plein instances on 127.0.0.1: A (the instance under test, on each
backend) moderates B (the blocked domain, with live followers of A's accounts) while C stays federated as the
positive control. Every request B receives is recorded, so "nothing reaches B" is measured, not assumed."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from outbox.actions import favourite, follow, post_status
from plein.admin import audit_command, domain_command
from plein.cli import build_parser
from storage.activities import create_activity_of
from storage.deliveries import delivery_job_row
from storage.models import (
    Account,
    AuditEntry,
    Favourite,
    Follow,
    FollowRequest,
    HomeFeedEntry,
    Job,
    MediaAttachment,
    Notification,
    Report,
    Status,
)
from storage.queue import enqueue_many
from support.federation import Instance, settle
from support.instance import make_settings, serve_in_process
from support.oauth import bearer, make_token
from support.outbox_helpers import delivery_jobs


@dataclass
class World:
    a: Instance
    b: Instance
    c: Instance
    seen_by_b: list[str] = field(default_factory=list)


async def _world(tmp_path: Path, database_url: str, **a_settings: Any) -> AsyncIterator[World]:
    seen: list[str] = []
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(
            serve_in_process(make_settings(tmp_path / "a", database_url=database_url, **a_settings))
        )
        b = await stack.enter_async_context(serve_in_process(make_settings(tmp_path / "b"), seen=seen))
        c = await stack.enter_async_context(serve_in_process(make_settings(tmp_path / "c")))
        yield World(Instance(a), Instance(b), Instance(c), seen)


@pytest.fixture
async def world(tmp_path: Path, database_url: str) -> AsyncIterator[World]:
    async for built in _world(tmp_path, database_url):
        yield built


@pytest.fixture
async def allowlist_world(tmp_path: Path, database_url: str) -> AsyncIterator[World]:
    async for built in _world(tmp_path, database_url, **{"federation.mode": "allowlist"}):
        yield built


async def cli(instance: Instance, capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run a `plein` admin command (its parser and command function) against the live instance."""
    args = build_parser().parse_args(list(argv))
    handler = audit_command if args.command == "audit" else domain_command
    assert await handler(instance.ctx, args) == 0
    return capsys.readouterr().out


def counts_in(output: str) -> dict[str, int]:
    line = next(line for line in output.splitlines() if "followers=" in line)
    return {name: int(value) for name, value in re.findall(r"(\w+)=(\d+)", line)}


async def local_user(instance: Instance, username: str) -> tuple[Account, str]:
    token = await make_token(instance.ctx, username)
    async with instance.ctx.db.read() as session:
        account = (
            await session.execute(
                select(Account).where(Account.username == username, Account.domain.is_(None))
            )
        ).scalar_one()
    return account, token


async def timeline(instance: Instance, path: str, token: str | None = None) -> list[str]:
    """The status URIs of a timeline, read through the client API."""
    async with instance.running.client() as client:
        response = await client.get(path, headers=bearer(token) if token else {})
    assert response.status_code == 200, response.text
    return [entry["uri"] for entry in response.json()]


async def status_code(instance: Instance, path: str, token: str) -> int:
    async with instance.running.client() as client:
        return (await client.get(path, headers=bearer(token))).status_code


async def remote_media(instance: Instance, author: Account) -> int:
    """An image row of a local author of `instance`, ready to attach to a post."""
    async with instance.ctx.db.transaction() as session:
        media = MediaAttachment(
            account_id=author.id,
            media_type="image",
            file_path="1_00000000000000000000000000000000/original.png",
            content_type="image/png",
            meta={},
        )
        session.add(media)
        await session.flush()
        return media.id


async def queued_to(instance: Instance, host: str) -> int:
    return await instance.count(
        Job, Job.queue == "deliver", Job.host == host, Job.state.in_(("pending", "running"))
    )


async def content_of(instance: Instance, domain: str) -> dict[str, int]:
    """What `instance` holds of the accounts on `domain`, counted the way the purge counts it."""
    theirs = select(Account.id).where(Account.domain == domain).scalar_subquery()
    return {
        "followers": await instance.count(Follow, Follow.account_id.in_(theirs)),
        "following": await instance.count(Follow, Follow.target_account_id.in_(theirs)),
        "follow_requests": await instance.count(
            FollowRequest, FollowRequest.account_id.in_(theirs) | FollowRequest.target_account_id.in_(theirs)
        ),
        "deliveries": await queued_to(instance, domain),
        "statuses": await instance.count(Status, Status.account_id.in_(theirs)),
        "media": await instance.count(MediaAttachment, MediaAttachment.account_id.in_(theirs)),
        "favourites": await instance.count(Favourite, Favourite.account_id.in_(theirs)),
        "notifications": await instance.count(Notification, Notification.from_account_id.in_(theirs)),
    }


async def test_suspend_with_a_live_follower_stops_all_traffic_and_removes_what_the_dry_run_said(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b, c = world.a, world.b, world.c
    alice, alice_token = await local_user(a, "alice")
    carol = await a.local("carol", locked=True)
    bob, dora, cleo = await b.local("bob"), await b.local("dora"), await c.local("cleo")
    bob_on_a = await a.resolve(bob, b)
    await follow(b.ctx, bob, await b.resolve(alice, a))  # the live follower on the blocked domain
    await follow(b.ctx, dora, await b.resolve(carol, a))  # a pending request to a locked account
    await follow(a.ctx, alice, bob_on_a)  # and a follow the other way
    await follow(c.ctx, cleo, await c.resolve(alice, a))  # the positive control
    await settle(a, b, c)
    hello = await post_status(a.ctx, alice, text="hello followers")
    await settle(a, b, c)
    await favourite(b.ctx, bob, (await b.status(hello.uri)).id)
    from_b = await post_status(b.ctx, bob, text="from B #plein", media_ids=[await remote_media(b, bob)])
    await settle(a, b, c)
    assert from_b.uri in await timeline(a, "/api/v1/timelines/public")
    assert from_b.uri in await timeline(a, "/api/v1/timelines/home", alice_token)
    copy_path = f"/api/v1/statuses/{(await a.status(from_b.uri)).id}"
    assert await status_code(a, copy_path, alice_token) == 200
    in_flight = await post_status(a.ctx, alice, text="queued when the block lands")
    await delivery_jobs(a.ctx)  # its fan-out expanded before the block, as a worker would
    assert await queued_to(a, b.domain) == 1

    before = await content_of(a, b.domain)
    assert before == {
        "followers": 1,
        "following": 1,
        "follow_requests": 1,
        "deliveries": 1,
        "statuses": 1,
        "media": 1,
        "favourites": 1,
        "notifications": 3,  # bob's follow and favourite, dora's follow request
    }
    accounts_of_b = await a.count(Account, Account.domain == b.domain)

    dry = await cli(a, capsys, "domain", "block", b.domain, "--severity", "suspend", "--dry-run")
    assert "dry run: nothing changed" in dry
    planned = counts_in(dry)
    assert await content_of(a, b.domain) == before  # the dry run changed nothing
    assert await a.count(AuditEntry) == 0
    assert {name: planned[name] for name in before} == before
    assert planned["accounts"] == accounts_of_b

    seen_before = len(world.seen_by_b)
    done = await cli(a, capsys, "domain", "block", b.domain, "--severity", "suspend")
    assert counts_in(done) == planned  # the real run reports what the dry run said
    # At once: follows both ways, the request and the queued delivery are gone; the content is hidden.
    after = await content_of(a, b.domain)
    assert {name: after[name] for name in ("followers", "following", "follow_requests", "deliveries")} == {
        "followers": 0,
        "following": 0,
        "follow_requests": 0,
        "deliveries": 0,
    }
    assert from_b.uri not in await timeline(a, "/api/v1/timelines/public")
    assert from_b.uri not in await timeline(a, "/api/v1/timelines/home", alice_token)
    # Out of the feed, not only hidden: home pages take their feed rows first, and a hidden row is a hole.
    copy_id = int(copy_path.rsplit("/", 1)[1])
    assert await a.count(HomeFeedEntry, HomeFeedEntry.status_id == copy_id) == 0
    assert await status_code(a, copy_path, alice_token) == 404
    refreshed = await a.account(alice.uri)
    assert (refreshed.followers_count, refreshed.following_count) == (1, 0)  # cleo on C only

    # The purge job removes the content the dry run counted, and logs it.
    await settle(a, b, c)
    assert await content_of(a, b.domain) == dict.fromkeys(before, 0)
    assert (
        await a.count(Account, Account.domain == b.domain, Account.suspended_at.is_not(None)) == accounts_of_b
    )
    async with a.ctx.db.read() as session:
        entries = {entry.action: entry for entry in (await session.execute(select(AuditEntry))).scalars()}
    assert entries["domain.block"].details["counts"] == planned
    purged = entries["domain.purge"].details["removed"]
    assert {name: purged[name] for name in ("statuses", "media", "favourites", "notifications")} == {
        name: planned[name] for name in ("statuses", "media", "favourites", "notifications")
    }
    listing = await cli(a, capsys, "audit", "list")
    assert f"domain.block\t{b.domain}" in listing and f"domain.purge\t{b.domain}" in listing

    # New posts, public and followers-only: nothing for B, everything for C.
    public = await post_status(a.ctx, alice, text="public after the block")
    private = await post_status(a.ctx, alice, text="followers only after the block", visibility="private")
    assert await queued_to(a, b.domain) == 0
    await settle(a, b, c)
    assert world.seen_by_b[seen_before:] == []  # zero requests reached B after the block
    for status in (in_flight, public, private):
        assert await b.status(status.uri) is None
        copy = await c.status(status.uri)
        assert copy is not None
        assert await c.count(
            HomeFeedEntry, HomeFeedEntry.account_id == cleo.id, HomeFeedEntry.status_id == copy.id
        )


async def test_a_delivery_that_slips_through_is_dropped_at_send_time_and_not_retried(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b, c = world.a, world.b, world.c
    alice = await a.local("alice")
    bob, cleo = await b.local("bob"), await c.local("cleo")
    await follow(b.ctx, bob, await b.resolve(alice, a))
    await follow(c.ctx, cleo, await c.resolve(alice, a))
    await settle(a, b, c)
    await cli(a, capsys, "domain", "block", b.domain)
    post = await post_status(a.ctx, alice, text="hello")
    bob_on_a = await a.account(bob.uri)
    async with a.ctx.db.transaction() as session:  # as if queued by a transaction that raced the block
        activity = await create_activity_of(session, post.id)
        for inbox in (bob_on_a.inbox_url, f"{c.running.base_url}/inbox"):
            await enqueue_many(
                session, [delivery_job_row(activity_id=activity.id, sender_id=alice.id, inbox=inbox)]
            )
    seen_before = len(world.seen_by_b)
    await settle(a, b, c)
    assert world.seen_by_b[seen_before:] == []
    async with a.ctx.db.read() as session:
        job = (
            await session.execute(
                select(Job).where(Job.queue == "deliver", Job.host == b.domain, Job.state != "done")
            )
        ).scalar_one()
    assert job.state == "failed" and "refused" in (job.last_error or "")
    assert await c.status(post.uri) is not None  # the unblocked host got it


async def test_unblock_releases_the_accounts_but_not_the_follows(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = world.a, world.b
    alice, bob = await a.local("alice"), await b.local("bob")
    await follow(b.ctx, bob, await b.resolve(alice, a))
    await settle(a, b)
    await cli(a, capsys, "domain", "block", b.domain)
    undone = await cli(a, capsys, "domain", "unblock", b.domain)
    assert counts_in(undone)["unsuspended"] == 1
    assert (await a.account(bob.uri)).suspended_at is None
    assert await a.count(Follow) == 0  # severed follows stay severed, as in Mastodon
    missing = build_parser().parse_args(["domain", "unblock", b.domain])
    with pytest.raises(Exception, match="not blocked"):
        await domain_command(a.ctx, missing)


async def test_silence_hides_the_domain_from_public_timelines_but_not_from_followers(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = world.a, world.b
    alice, alice_token = await local_user(a, "alice")
    bob, dora = await b.local("bob"), await b.local("dora")
    await follow(a.ctx, alice, await a.resolve(bob, b))
    await settle(a, b)
    earlier = await post_status(b.ctx, bob, text="before the silence #news")
    await settle(a, b)
    assert earlier.uri in await timeline(a, "/api/v1/timelines/public")

    output = await cli(a, capsys, "domain", "block", b.domain, "--severity", "silence")
    assert counts_in(output)["silenced"] == 1  # bob, already known, is silenced too
    later = await post_status(b.ctx, bob, text=f"after the silence #news @alice@{a.domain}")
    stranger = await post_status(b.ctx, dora, text=f"hi @alice@{a.domain}")
    await settle(a, b)
    for path in (
        "/api/v1/timelines/public",
        "/api/v1/timelines/public?remote=true",
        "/api/v1/timelines/tag/news",
    ):
        shown = await timeline(a, path)
        assert earlier.uri not in shown and later.uri not in shown
    home = await timeline(a, "/api/v1/timelines/home", alice_token)
    assert earlier.uri in home and later.uri in home  # the follower still sees them
    mentions = await a.notifications(alice, "mention")
    from_accounts = {(await a.account(bob.uri)).id}
    assert {notification.from_account_id for notification in mentions} == from_accounts  # not dora's
    assert await a.status(stranger.uri) is not None  # stored, just not notified
    assert await a.count(Follow) == 1  # silence keeps follows


async def test_disallow_in_allowlist_mode_severs_like_a_suspend(
    allowlist_world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world = allowlist_world
    a, b, c = world.a, world.b, world.c
    for domain in (b.domain, c.domain):
        await cli(a, capsys, "domain", "allow", domain)
    alice = await a.local("alice")
    bob, cleo = await b.local("bob"), await c.local("cleo")
    await follow(b.ctx, bob, await b.resolve(alice, a))
    await follow(c.ctx, cleo, await c.resolve(alice, a))
    await settle(a, b, c)
    await post_status(a.ctx, alice, text="queued when B leaves the list")
    await delivery_jobs(a.ctx)  # its fan-out expanded before B leaves, as a worker would
    planned = counts_in(await cli(a, capsys, "domain", "disallow", b.domain, "--dry-run"))
    assert planned["followers"] == 1 and planned["deliveries"] == 1
    assert counts_in(await cli(a, capsys, "domain", "disallow", b.domain)) == planned
    assert await a.count(Follow, Follow.target_account_id == alice.id) == 1  # cleo's
    seen_before = len(world.seen_by_b)
    post = await post_status(a.ctx, alice, text="after B left the list", visibility="private")
    await settle(a, b, c)
    assert world.seen_by_b[seen_before:] == []
    assert await b.status(post.uri) is None and await c.status(post.uri) is not None


async def test_refused_input_changes_nothing(world: World) -> None:
    for argv in (["domain", "block", "not a domain"], ["domain", "disallow", "never.example"]):
        with pytest.raises(Exception) as refused:
            await domain_command(world.a.ctx, build_parser().parse_args(argv))
        assert type(refused.value).__name__ == "AdminError"
    assert await world.a.count(AuditEntry) == 0


async def test_reject_media_removes_the_domains_attachments_and_keeps_its_posts(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = world.a, world.b
    alice = await a.local("alice")
    bob = await b.local("bob")
    await follow(a.ctx, alice, await a.resolve(bob, b))
    await settle(a, b)
    before = await post_status(b.ctx, bob, text="with a picture", media_ids=[await remote_media(b, bob)])
    await settle(a, b)
    bob_on_a = await a.account(bob.uri)
    assert await a.count(MediaAttachment, MediaAttachment.account_id == bob_on_a.id) == 1

    output = await cli(a, capsys, "domain", "block", b.domain, "--severity", "noop", "--reject-media")
    assert counts_in(output)["media"] == 1 and counts_in(output)["followers"] == 0
    assert await a.count(MediaAttachment, MediaAttachment.account_id == bob_on_a.id) == 0
    after = await post_status(b.ctx, bob, text="another picture", media_ids=[await remote_media(b, bob)])
    await settle(a, b)
    assert await a.count(MediaAttachment, MediaAttachment.account_id == bob_on_a.id) == 0
    shown = await timeline(a, "/api/v1/timelines/public")
    assert before.uri in shown and after.uri in shown  # the posts stay, without media
    assert await a.count(Follow) == 1


async def test_purge_goes_on_across_runs_and_keeps_reported_statuses(
    world: World, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("moderation.purge.BATCH", 1)  # one row of each kind per transaction,
    monkeypatch.setattr("moderation.purge.BATCHES_PER_RUN", 1)  # one transaction per job run
    a, b = world.a, world.b
    alice = await a.local("alice")
    bob = await b.local("bob")
    await follow(a.ctx, alice, await a.resolve(bob, b))
    await settle(a, b)
    posts = [await post_status(b.ctx, bob, text=f"post {index}") for index in range(4)]
    await settle(a, b)
    reported = await a.status(posts[0].uri)
    bob_on_a = await a.account(bob.uri)
    async with a.ctx.db.transaction() as session:
        session.add(Report(account_id=alice.id, target_account_id=bob_on_a.id, status_ids=[reported.id]))
    planned = counts_in(await cli(a, capsys, "domain", "block", b.domain, "--dry-run"))
    assert planned["statuses"] == 3  # the reported one stays for the moderators
    await cli(a, capsys, "domain", "block", b.domain)
    await settle(a, b)
    assert [status.uri for status in posts if await a.status(status.uri) is not None] == [posts[0].uri]
    async with a.ctx.db.read() as session:
        purge = (
            await session.execute(select(AuditEntry).where(AuditEntry.action == "domain.purge"))
        ).scalar_one()
        runs = (await session.execute(select(Job).where(Job.queue == "moderation"))).scalar_one()
    assert purge.details["removed"]["statuses"] == 3
    assert runs.tries > 3 and runs.state == "done"  # it gave way between batches and went on counting
