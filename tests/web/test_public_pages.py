"""The public pages (web/pages.py, web/feeds.py, web/assets.py) over HTTP: a status page with its media and
alt text, content warning as <details>, the thread the reader may see, counts, `lang`, OpenGraph and the
alternate AS2 document; profiles with pinned posts and verified fields; the local timeline; RSS and Atom
per account and per tag; content negotiation; robots.txt, favicon and security.txt."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from outbox import actions
from outbox.actions.pins import pin_status
from outbox.uploads import upload_image
from storage.models import Account
from support.databases import sqlite_url
from support.instance import RunningInstance, make_settings, serve_in_process
from support.oauth import make_user
from support.web import png_bytes

AS2 = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


@pytest.fixture
async def instance(tmp_path: Path) -> AsyncIterator[RunningInstance]:
    settings = make_settings(
        tmp_path,
        database_url=sqlite_url(str(tmp_path)),
        **{"instance.security_contact": "mailto:csirt@example.nl"},
    )
    async with serve_in_process(settings) as running:
        yield running


async def test_status_page_shows_media_thread_counts_and_negotiates(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    ctx = instance.ctx
    alice, bob = await make_user(ctx, "alice"), await make_user(ctx, "bob")
    media = await upload_image(ctx, alice.id, png_bytes(), description="Kaart van de dijk bij Lelystad")
    root = await actions.post_status(ctx, alice, text="Begin van de draad", language="nl")
    post = await actions.post_status(
        ctx,
        alice,
        text="Het water stijgt",
        spoiler_text="Hoogwater",
        language="nl",
        in_reply_to_id=root.id,
        media_ids=[media.id],
    )
    await actions.post_status(ctx, bob, text="@alice public answer", in_reply_to_id=post.id, language="en")
    await actions.post_status(
        ctx, bob, text="@alice secret answer", in_reply_to_id=post.id, visibility="private"
    )
    await actions.favourite(ctx, bob, post.id)
    async with instance.client() as reader:
        page = await reader.get(f"/@alice/{post.id}")
        assert page.status_code == 200
        html = page.text
        assert re.search(r'<article class="h-entry main-post" lang="nl">', html)
        assert '<details><summary class="p-summary">Hoogwater</summary>' in html
        assert 'alt="Kaart van de dijk bij Lelystad"' in html
        assert "Begin van de draad" in html  # the ancestor
        assert "public answer" in html and 'lang="en"' in html
        assert "secret answer" not in html  # followers-only, and the reader is anonymous
        assert "1 favoriet" in html and "2 reacties" in html  # counts are of every reply
        assert '<meta property="og:title"' in html and f'href="{post.uri}"' in html
        assert 'rel="alternate" type="application/activity+json"' in html
        assert "Accept" in page.headers["vary"]
        assert page.headers["link"] == f'<{post.uri}>; rel="alternate"; type="application/activity+json"'
        negotiated = await reader.get(f"/@alice/{post.id}", headers={"Accept": AS2})
        assert negotiated.status_code == 302 and negotiated.headers["location"] == post.uri
        as_json = await reader.get(negotiated.headers["location"], headers={"Accept": AS2})
        assert as_json.json()["type"] == "Note"
        # A followers-only post is not there for an anonymous reader, with or without AS2.
        hidden = await actions.post_status(ctx, alice, text="followers only", visibility="private")
        assert (await reader.get(f"/@alice/{hidden.id}")).status_code == 404
        assert (await reader.get(f"/@alice/{hidden.id}", headers={"Accept": AS2})).status_code == 404


async def test_profile_pinned_posts_verified_fields_feeds_and_local_timeline(
    instance: RunningInstance,
) -> None:
    assert instance.ctx is not None
    ctx = instance.ctx
    alice = await make_user(ctx, "alice")
    pinned = await actions.post_status(ctx, alice, text="Vastgezet: openingstijden #dienst")
    await pin_status(ctx, alice, pinned.id)
    await actions.post_status(ctx, alice, text="Tweede bericht #dienst")
    await actions.post_status(ctx, alice, text="unlisted note #dienst", visibility="unlisted")
    async with ctx.db.transaction() as session:
        row = await session.get(Account, alice.id)
        assert row is not None
        row.fields = [
            {"name": "Website", "value": "https://www.example.nl", "verified_at": "2026-12-01T00:00:00Z"},
            {"name": "Telefoon", "value": "14 0320"},
        ]
    async with instance.client(headers={"Accept-Language": "en"}) as reader:
        profile = await reader.get("/@alice")
        html = profile.text
        assert "Pinned posts" in html and html.index("openingstijden") < html.index("Posts</h2>")
        assert "<dt>Website</dt>" in html and "✓ verified" in html
        assert html.count("verified</span>") == 1
        assert 'class="h-card profile"' in html and 'property="og:type" content="profile"' in html
        assert "unlisted note" not in html
        redirect = await reader.get("/@alice", headers={"Accept": AS2})
        assert redirect.status_code == 302 and redirect.headers["location"] == alice.uri
        for path, root_tag in (("/@alice.rss", "rss"), ("/@alice.atom", "{http://www.w3.org/2005/Atom}feed")):
            feed = await reader.get(path)
            assert feed.status_code == 200
            document = ElementTree.fromstring(feed.content)
            assert document.tag == root_tag
            assert "Tweede bericht" in feed.text and "unlisted note" not in feed.text
        tag_feed = await reader.get("/tags/dienst.atom")
        assert (
            tag_feed.status_code == 200
            and "openingstijden" in tag_feed.text
            and "unlisted" not in tag_feed.text
        )
        assert (await reader.get("/tags/nothing.rss")).status_code == 404
        local = await reader.get("/public/local")
        assert "Tweede bericht" in local.text and "unlisted note" not in local.text


async def test_robots_favicon_and_security_txt(instance: RunningInstance, tmp_path: Path) -> None:
    async with instance.client() as reader:
        robots = await reader.get("/robots.txt")
        assert robots.status_code == 200 and "Disallow: /web/" in robots.text
        favicon = await reader.get("/favicon.ico")
        assert favicon.status_code == 200 and favicon.headers["content-type"] == "image/x-icon"
        security = await reader.get("/.well-known/security.txt")
        assert "Contact: mailto:csirt@example.nl" in security.text
        assert re.search(r"^Expires: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", security.text, re.MULTILINE)
    async with serve_in_process(make_settings(tmp_path / "other")) as bare, bare.client() as reader:
        assert (await reader.get("/.well-known/security.txt")).status_code == 404
