"""Trending links: preview cards shared by the most accounts in recent public statuses, once a moderator
allowed them (with `plein trends allow-link`, as hashtags), through Mastodon.py's `trending_links`, with their
week of use; and the link timeline (`/api/v1/timelines/link?url=`, Mastodon 4.3) of an allowed link."""

from __future__ import annotations

import asyncio
from pathlib import Path

from checked import call
from mastodon import Mastodon
from sqlalchemy import update
from test_preview_cards import run_card_jobs

import moderation
from outbox.actions import block, post_status
from plein.config import settings_to_toml
from storage.link_trends import link_use_counts
from storage.models import Account
from storage.types import utcnow
from support.instance import run_plein
from support.link_site import Site
from support.oauth import bearer, make_token, make_user
from support.openapi import validate_entity


async def test_links_shared_by_most_accounts_trend_once_allowed(site: Site) -> None:
    instance = site.instance
    ctx = instance.ctx
    assert ctx is not None
    alice, bob, carol, dave = [await make_user(ctx, name) for name in ("alice", "bob", "carol", "dave")]
    viewer_token = await make_token(ctx, "viewer")
    article, second = f"{site.url}/artikel", f"{site.url}/tweede"
    shared = [await post_status(ctx, author, text=f"Lees {article}") for author in (alice, bob, carol)]
    await post_status(ctx, alice, text=f"En nog eens {article}")  # a second use by the same account
    await post_status(ctx, dave, text=f"Ander nieuws {second}")
    await post_status(ctx, dave, text=f"Niet openbaar {second}", visibility="unlisted")
    await run_card_jobs(instance)
    client = Mastodon(api_base_url=instance.base_url)

    assert await asyncio.to_thread(client.trending_links) == []  # nothing reviewed yet
    async with instance.client() as http:
        unknown = await http.get("/api/v1/timelines/link", params={"url": article})
        assert unknown.status_code == 404 and "error" in unknown.json()  # not trending (yet): as Mastodon
        assert (await http.get("/api/v1/timelines/link")).status_code == 422

    await moderation.review_link(ctx, article, allow=True, actor="cli:test")
    await moderation.review_link(ctx, second, allow=True, actor="cli:test")
    links = await asyncio.to_thread(client.trending_links)
    assert [link.url for link in links] == [article, second]  # three accounts beat one
    assert links[0].title == "Nieuw klimaatakkoord"
    assert (int(links[0].history[0].accounts), int(links[0].history[0].uses)) == (3, 4)
    assert len(links[0].history) == 7
    async with instance.client() as http:
        raw = await call(http, "GET", "/api/v1/trends/links", params={"limit": 1})
        validate_entity("TrendsLink", raw, all_properties=True, ignore=("missing_attribution",))
        assert [link["url"] for link in raw] == [article]
        assert [
            link["url"] for link in await call(http, "GET", "/api/v1/trends/links", params={"offset": 1})
        ] == [second]

        timeline = await call(http, "GET", "/api/v1/timelines/link", params={"url": article})
        assert [status["id"] for status in timeline][1:] == [str(status.id) for status in reversed(shared)]
        assert all(status["card"]["url"] == article for status in timeline)
        page = await http.get("/api/v1/timelines/link", params={"url": article, "limit": 2})
        assert len(page.json()) == 2 and 'rel="next"' in page.headers["link"]
        viewer = await make_user(ctx, "viewer")
        await block(ctx, viewer, bob)
        seen = await call(
            http, "GET", "/api/v1/timelines/link", params={"url": article}, headers=bearer(viewer_token)
        )
        assert str(shared[1].id) not in [status["id"] for status in seen]

    # Undiscoverable authors neither count nor show; a refused link leaves the trends and its timeline.
    async with ctx.db.transaction() as session:
        await session.execute(
            update(Account).where(Account.id.in_([bob.id, carol.id])).values(discoverable=False)
        )
    links = await asyncio.to_thread(client.trending_links)
    assert sorted(link.url for link in links) == sorted([article, second])
    async with ctx.db.read() as session:
        counted = await link_use_counts(session, now=utcnow(), reviewed_only=True, limit=5)
    assert sorted((row.card.url, row.accounts, row.uses) for row in counted) == [
        (article, 1, 2),
        (second, 1, 1),
    ]
    await moderation.review_link(ctx, article, allow=False, actor="cli:test")
    assert [link.url for link in await asyncio.to_thread(client.trending_links)] == [second]
    async with instance.client() as http:
        assert (await http.get("/api/v1/timelines/link", params={"url": article})).status_code == 404


async def test_links_are_reviewed_with_the_cli(site: Site, tmp_path: Path) -> None:
    instance = site.instance
    ctx = instance.ctx
    assert ctx is not None
    await post_status(ctx, await make_user(ctx, "alice"), text=f"Lees {site.url}/artikel")
    await run_card_jobs(instance)
    config = tmp_path / "cli.toml"
    config.write_text(settings_to_toml(instance.settings))
    listed = await asyncio.to_thread(run_plein, config, "trends", "list")
    assert listed.returncode == 0 and f"{site.url}/artikel\t1\t1\tto review" in listed.stdout
    allowed = await asyncio.to_thread(run_plein, config, "trends", "allow-link", f"{site.url}/artikel")
    assert allowed.returncode == 0 and "may trend" in allowed.stdout
    assert [
        link.url for link in await asyncio.to_thread(Mastodon(api_base_url=instance.base_url).trending_links)
    ] == [f"{site.url}/artikel"]
    missing = await asyncio.to_thread(run_plein, config, "trends", "reject-link", "https://nowhere.example/")
    assert missing.returncode == 2 and "no preview card" in missing.stderr
    audit = await asyncio.to_thread(run_plein, config, "audit", "list")
    assert "trends.allow_link" in audit.stdout
