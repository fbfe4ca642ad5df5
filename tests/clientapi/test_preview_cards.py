"""Link preview cards through the real endpoints: a status linking to a page of an https site on 127.0.0.1
(certificate from a private CA the instance trusts) gets a card once the `cards` job ran — title, description
and site from OpenGraph, the og:image fetched, re-encoded to fit 640×640 and served from our media path —
seen by Mastodon.py in `card` and `status_card`; links that get none (opted out in angle brackets, hashtags,
plain text, oversized pages, no title, a private address outside test settings); an edit's new link gets a
new card; cards are shared by URL; a card no status shows is purged with its files."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from checked import call
from mastodon import Mastodon
from PIL import Image
from sqlalchemy import func, select, update

from outbox.actions import delete_status, edit_status, follow, post_status, update_profile
from plein.jobs import job_handlers
from storage.models import Job, PreviewCard, StatusCard
from storage.preview_cards import card_root
from storage.queue import ClaimedJob
from storage.retention import maintenance_handler
from storage.types import utcnow
from storage.worker import drain
from support.federation import Instance, settle
from support.instance import RunningInstance, free_port, make_settings, serve_app, serve_in_process
from support.link_site import Site, site_app
from support.oauth import bearer, make_token, make_user
from support.openapi import validate_entity
from support.streams import next_sse_event
from support.tls import PrivateCA


async def run_card_jobs(instance: RunningInstance) -> int:
    assert instance.ctx is not None
    return await drain(instance.ctx.db, job_handlers(instance.ctx))


async def card_jobs(instance: RunningInstance) -> int:
    assert instance.ctx is not None
    async with instance.ctx.db.read() as session:
        return int(
            await session.scalar(select(func.count()).select_from(Job).where(Job.queue == "cards")) or 0
        )


async def test_a_linked_article_gets_a_card_with_its_image(site: Site) -> None:
    instance = site.instance
    ctx = instance.ctx
    assert ctx is not None
    token = await make_token(ctx, "alice")
    client = Mastodon(access_token=token, api_base_url=instance.base_url)
    posted = await asyncio.to_thread(
        client.status_post, f"Lees het #klimaat nieuws: {site.url}/artikel (via @nobody)"
    )
    assert posted["card"] is None  # the job has not run yet
    assert await card_jobs(instance) == 1
    await run_card_jobs(instance)

    card = await asyncio.to_thread(client.status_card, posted["id"])
    assert card["url"] == f"{site.url}/artikel"
    assert card["title"] == "Nieuw klimaatakkoord"
    assert card["description"] == "Wat de gemeente & de provincie afspraken."
    assert card["provider_name"] == "Rijksoverheid"
    assert card["type"] == "link"
    assert card["language"] == "nl"
    assert card["image_description"] == "Een rode banner"
    assert card["published_at"].isoformat().startswith("2026-11-30T09:00:00")
    assert (card["width"], card["height"]) == (640, 320)  # re-encoded to fit 640×640
    assert card["blurhash"]
    assert card["image"].startswith(f"{instance.base_url}/media/cards/")
    assert card["authors"] == [{"name": "", "url": "", "account": None}]
    async with instance.client() as http:
        status = await call(http, "GET", f"/api/v1/statuses/{posted['id']}")
        validate_entity("PreviewCard", status["card"], all_properties=True)
        assert status["card"] == card
        assert (await http.get(f"/api/v1/statuses/{posted['id']}/card")).json() == card
        image = await http.get(card["image"])
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(image.content)).size == (640, 320)
        wrong_secret = card["image"].rsplit("/", 2)[0].rsplit("_", 1)[0] + "_" + "0" * 32 + "/original.png"
        assert (await http.get(wrong_secret)).status_code == 404

    # A second status with the same link shares the card: nothing is fetched again.
    second = await post_status(ctx, await make_user(ctx, "bob"), text=f"Zie ook {site.url}/artikel")
    await run_card_jobs(instance)
    async with ctx.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(PreviewCard)) == 1
        assert await session.scalar(
            select(StatusCard.card_id).where(StatusCard.status_id == second.id)
        ) == await session.scalar(select(PreviewCard.id))


async def test_an_announced_oembed_video_makes_a_video_card(site: Site) -> None:
    instance = site.instance
    ctx = instance.ctx
    assert ctx is not None
    status = await post_status(ctx, await make_user(ctx, "alice"), text=f"Kijk: {site.url}/video")
    await run_card_jobs(instance)
    async with instance.client() as http:
        card = (await call(http, "GET", f"/api/v1/statuses/{status.id}"))["card"]
    assert (card["type"], card["title"], card["provider_name"]) == (
        "video",
        "Persconferentie",
        "Overheid Video",
    )
    assert (card["width"], card["height"]) == (480, 270)
    assert (
        card["html"].startswith('<iframe src="https://video.example/embed/1"')
        and "script" not in card["html"]
    )
    assert card["image"].startswith(f"{instance.base_url}/media/cards/")  # its thumbnail, stored here


async def test_links_that_get_no_card(site: Site) -> None:
    instance = site.instance
    ctx = instance.ctx
    assert ctx is not None
    alice = await make_user(ctx, "alice")
    texts = [
        f"Geen kaart: <{site.url}/artikel>",  # opted out in angle brackets
        "Alleen een #hashtag en tekst",
        f"Platte tekst {site.url}/tekst",
        f"Te groot {site.url}/groot",
        f"Zonder titel {site.url}/zonder-titel",
        f"Bestaat niet {site.url}/weg",
        f"Eigen server {instance.base_url}/@alice",
    ]
    statuses = [await post_status(ctx, alice, text=text) for text in texts]
    assert await card_jobs(instance) == 4  # only the four that link elsewhere, not opted out
    await run_card_jobs(instance)
    async with instance.client() as http:
        for status in statuses:
            assert (await call(http, "GET", f"/api/v1/statuses/{status.id}"))["card"] is None
            assert (await http.get(f"/api/v1/statuses/{status.id}/card")).json() == {}
        missing = await http.get("/api/v1/statuses/1/card")
        assert missing.status_code == 404 and "error" in missing.json()
    async with ctx.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(PreviewCard)) == 0


async def test_title_only_page_and_edits_refresh_the_card(site: Site) -> None:
    instance = site.instance
    ctx = instance.ctx
    assert ctx is not None
    alice = await make_user(ctx, "alice")
    status = await post_status(ctx, alice, text=f"Eerst {site.url}/titel-alleen")
    await run_card_jobs(instance)
    async with instance.client() as http:
        card = (await call(http, "GET", f"/api/v1/statuses/{status.id}"))["card"]
    assert (card["title"], card["description"], card["image"]) == (
        "Alleen een titel",
        "Beschrijving uit meta",
        None,
    )
    await edit_status(ctx, alice, status.id, text=f"Toch dit: {site.url}/tweede")
    await run_card_jobs(instance)
    async with instance.client() as http:
        card = (await call(http, "GET", f"/api/v1/statuses/{status.id}"))["card"]
    assert card["title"] == "Tweede artikel" and card["url"] == f"{site.url}/tweede"

    # Deleted, the status lets go of its card; the maintenance run deletes the cards no status shows (a
    # day after their fetch), with their image files.
    await delete_status(ctx, alice, status.id)
    data_dir = instance.settings.server.data_dir
    handler = maintenance_handler(ctx.db, security_log_days=14, data_dir=data_dir, deleted_media_days=30)
    job = ClaimedJob(
        id=0, queue="maintenance", payload={"kind": "retention"}, tries=1, host=None, created_at=utcnow()
    )
    await handler(job)
    async with ctx.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(PreviewCard)) == 2  # too recent
    async with ctx.db.transaction() as session:
        await session.execute(update(PreviewCard).values(fetched_at=utcnow() - timedelta(days=2)))
    await handler(job)
    async with ctx.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(PreviewCard)) == 0
    assert list(card_root(data_dir).iterdir()) == []


async def test_fediverse_creator_is_credited_within_attribution_domains(site: Site) -> None:
    instance = site.instance
    ctx = instance.ctx
    assert ctx is not None
    alice_token = await make_token(ctx, "alice")
    alice_client = Mastodon(access_token=alice_token, api_base_url=instance.base_url)
    me = await asyncio.to_thread(
        alice_client.account_update_credentials, attribution_domains=["Gemeente.example", "127.0.0.1"]
    )
    assert me["source"]["attribution_domains"] == ["gemeente.example", "127.0.0.1"]
    async with instance.client() as http:
        actor = (await http.get("/users/alice", headers={"Accept": "application/activity+json"})).json()
        assert actor["attributionDomains"] == ["gemeente.example", "127.0.0.1"]
        refused = await http.patch(
            "/api/v1/accounts/update_credentials",
            data={"attribution_domains[]": ["not a domain"]},
            headers={"Authorization": f"Bearer {alice_token}"},
        )
        assert refused.status_code == 422 and "attribution_domains" in refused.json()["details"]
    bob = await make_user(ctx, "bob")  # lists no attribution domain: the page may not credit him
    writer = await make_user(ctx, "writer")
    by_alice = await post_status(ctx, writer, text=f"{site.url}/van-alice")
    by_bob = await post_status(ctx, writer, text=f"{site.url}/van-bob")
    await run_card_jobs(instance)
    async with instance.client() as http:
        alice_card = (await call(http, "GET", f"/api/v1/statuses/{by_alice.id}"))["card"]
        bob_card = (await call(http, "GET", f"/api/v1/statuses/{by_bob.id}"))["card"]
    [author] = alice_card["authors"]
    assert author["name"] == "Alice A." and author["account"]["id"] == str(me["id"])
    assert author["account"]["acct"] == "alice"
    assert bob_card["authors"] == [{"name": "", "url": "", "account": None}]
    assert bob.attribution_domains == []

    # Once alice no longer lists the site's host, a fresh fetch credits nobody.
    await asyncio.to_thread(alice_client.account_update_credentials, attribution_domains=["gemeente.example"])
    async with ctx.db.transaction() as session:
        await session.execute(update(PreviewCard).values(fetched_at=utcnow() - timedelta(days=15)))
    again = await post_status(ctx, writer, text=f"Nog eens {site.url}/van-alice")
    await run_card_jobs(instance)
    async with instance.client() as http:
        card = (await call(http, "GET", f"/api/v1/statuses/{again.id}"))["card"]
    assert card["authors"][0]["account"] is None


async def test_private_addresses_are_refused_outside_test_settings(tmp_path: Path) -> None:
    ca = PrivateCA(tmp_path)
    leaf = ca.issue("127.0.0.1")
    settings = make_settings(
        tmp_path,
        **{"federation.ca_bundle": str(ca.certificate), "federation.allow_private_addresses": []},
    )
    port = free_port()
    async with (
        serve_app(site_app(), port, ssl_certfile=str(leaf.certificate), ssl_keyfile=str(leaf.key)),
        serve_in_process(settings) as instance,
    ):
        ctx = instance.ctx
        assert ctx is not None
        status = await post_status(
            ctx, await make_user(ctx, "alice"), text=f"https://127.0.0.1:{port}/artikel"
        )
        assert await card_jobs(instance) == 1  # the post also queues its fan-out to followers
        await run_card_jobs(instance)
        async with instance.client() as http:
            entity: dict[str, Any] = await call(http, "GET", f"/api/v1/statuses/{status.id}")
        assert entity["card"] is None
        async with ctx.db.read() as session:
            assert await session.scalar(select(func.count()).select_from(PreviewCard)) == 0


async def test_a_received_status_gets_its_card_and_streams_it(tmp_path: Path) -> None:
    """Alice's post reaches bob's server in a Create(Note); that server makes its own card (crediting its copy
    of alice, whose actor lists the site's host in `attributionDomains`) and streams `status.update`."""
    ca = PrivateCA(tmp_path)
    leaf = ca.issue("127.0.0.1")
    trusting = {"federation.ca_bundle": str(ca.certificate)}
    settings_a = make_settings(tmp_path / "a", **trusting)
    settings_b = make_settings(tmp_path / "b", **trusting)
    port = free_port()
    site = f"https://127.0.0.1:{port}"
    async with (
        serve_app(
            site_app(settings_a.domain), port, ssl_certfile=str(leaf.certificate), ssl_keyfile=str(leaf.key)
        ),
        serve_in_process(settings_a) as running_a,
        serve_in_process(settings_b) as running_b,
    ):
        a, b = Instance(running_a), Instance(running_b)
        alice = await make_user(a.ctx, "alice")
        await update_profile(a.ctx, alice, attribution_domains=["127.0.0.1"])
        bob_token = await make_token(b.ctx, "bob")
        copy = await b.resolve(alice, a)
        assert copy.attribution_domains == ["127.0.0.1"]
        await follow(b.ctx, await make_user(b.ctx, "bob"), copy)
        await settle(a, b)
        async with running_b.client(headers=bearer(bob_token)) as http:
            async with http.stream("GET", "/api/v1/streaming/user") as response:
                lines = response.aiter_lines()
                assert await anext(lines) == ":)"
                await post_status(a.ctx, alice, text=f"Mijn artikel: {site}/van-alice")
                await settle(a, b)
                event, data = await asyncio.wait_for(next_sse_event(lines), 10)
                assert event == "update" and json.loads(data)["card"] is None
                event, data = await asyncio.wait_for(next_sse_event(lines), 10)
                assert event == "status.update"
                streamed = json.loads(data)
            assert streamed["card"]["title"] == "Door Alice"
            assert streamed["card"]["image"].startswith(f"{running_b.base_url}/media/cards/")
            [author] = streamed["card"]["authors"]
            assert author["account"]["id"] == str(copy.id)
            assert author["account"]["acct"] == f"alice@{settings_a.domain}"
            status = await call(http, "GET", f"/api/v1/statuses/{streamed['id']}")
            assert status["card"] == streamed["card"]
