"""Trends: hashtags used by the most accounts (once a moderator allows them) and the most favourited and
boosted public statuses of the last days, through Mastodon.py; what keeps something out (review, refusal,
silence, discoverability, age, the viewer's blocks); the `plein trends` review commands."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from checked import call
from mastodon import Mastodon
from sqlalchemy import update

import moderation
from outbox.actions import block, favourite, post_status, reblog
from storage.models import Account, Status
from storage.types import utcnow
from support.instance import RunningInstance, run_plein, write_config
from support.oauth import bearer, make_token, make_user


async def test_trending_tags_and_statuses(instance: RunningInstance) -> None:
    ctx = instance.ctx
    assert ctx is not None
    alice, bob, carol = [await make_user(ctx, name) for name in ("alice", "bob", "carol")]
    viewer_token = await make_token(ctx, "viewer")
    popular = await post_status(ctx, alice, text="Het #klimaatakkoord is rond")
    await post_status(ctx, bob, text="Ook over het #klimaatakkoord")
    await post_status(ctx, carol, text="Iets anders #overig")
    quiet = await post_status(ctx, bob, text="Niemand reageert")
    await favourite(ctx, bob, popular.id)
    await favourite(ctx, carol, popular.id)
    await reblog(ctx, carol, popular.id)
    client = Mastodon(api_base_url=instance.base_url)

    assert await asyncio.to_thread(client.trending_tags) == []  # nothing reviewed yet
    await moderation.review_tag(ctx, "#KlimaatAkkoord", allow=True, actor="cli:test")
    await moderation.review_tag(ctx, "overig", allow=True, actor="cli:test")
    tags = await asyncio.to_thread(client.trending_tags)
    assert [tag.name for tag in tags] == ["klimaatakkoord", "overig"]  # two accounts beat one
    assert int(tags[0].history[0].accounts) == 2
    statuses = await asyncio.to_thread(client.trending_statuses)
    assert [str(status.id) for status in statuses] == [str(popular.id)]  # `quiet` had no interaction
    assert quiet.id not in [int(status.id) for status in statuses]

    async with instance.client() as http:
        await call(http, "GET", "/api/v1/trends/tags", params={"limit": 1})
        old_name = await http.get("/api/v1/trends", params={"limit": 1})  # not in the OpenAPI description
        assert [tag["name"] for tag in old_name.json()] == ["klimaatakkoord"]
        assert await call(http, "GET", "/api/v1/trends/tags", params={"offset": 1, "limit": 5}) != []
        assert await call(http, "GET", "/api/v1/trends/links") == []

    # A refused status leaves, and comes back when allowed again.
    await moderation.review_status(ctx, popular.id, allow=False, actor="cli:test")
    assert await asyncio.to_thread(client.trending_statuses) == []
    await moderation.review_status(ctx, popular.id, allow=True, actor="cli:test")
    assert len(await asyncio.to_thread(client.trending_statuses)) == 1

    # A viewer who blocks the author does not see it trend; others still do.
    viewer = await make_user(ctx, "viewer")
    await block(ctx, viewer, alice)
    async with instance.client() as http:
        assert await call(http, "GET", "/api/v1/trends/statuses", headers=bearer(viewer_token)) == []
        assert len(await call(http, "GET", "/api/v1/trends/statuses")) == 1

    # Silenced or non-discoverable authors never trend, nor statuses older than the window.
    async with ctx.db.transaction() as session:
        await session.execute(update(Account).where(Account.id == alice.id).values(discoverable=False))
    assert await asyncio.to_thread(client.trending_statuses) == []
    async with ctx.db.transaction() as session:
        await session.execute(update(Account).where(Account.id == alice.id).values(discoverable=True))
        await session.execute(
            update(Status).where(Status.id == popular.id).values(created_at=utcnow() - timedelta(days=4))
        )
    assert await asyncio.to_thread(client.trending_statuses) == []
    await moderation.review_tag(ctx, "klimaatakkoord", allow=False, actor="cli:test")
    assert [tag.name for tag in await asyncio.to_thread(client.trending_tags)] == ["overig"]


def test_trends_review_commands(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    assert run_plein(config, "migrate").returncode == 0
    allowed = run_plein(config, "trends", "allow-tag", "#Open")
    assert allowed.returncode == 0 and "#open may trend" in allowed.stdout
    assert run_plein(config, "trends", "reject-tag", "open").returncode == 0
    refused = run_plein(config, "trends", "reject-tag", "###")
    assert refused.returncode == 2 and "not a hashtag" in refused.stderr
    missing = run_plein(config, "trends", "reject-status", "12345")
    assert missing.returncode == 2 and "no status 12345" in missing.stderr
    listed = run_plein(config, "trends", "list")
    assert listed.returncode == 0 and "hashtags" in listed.stdout
    audit = run_plein(config, "audit", "list")
    assert "trends.allow_tag" in audit.stdout and "trends.reject_tag" in audit.stdout
