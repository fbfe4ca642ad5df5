"""Local custom emojis in use: `:code:` in a status's text and spoiler and in a profile's name, note and
fields gives `emojis` on the Status and Account entities (Mastodon.py and the OpenAPI description) and
`Emoji` tags on the federated Note and actor, shaped as Mastodon's; removing the emoji takes it out again."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import websockets
from checked import call
from mastodon import Mastodon
from sqlalchemy import select
from test_custom_emojis import gif_bytes, png_bytes

import moderation
from plein.jobs import job_handlers
from storage.custom_emojis import facts_of
from storage.models import Activity
from storage.urls import LocalUrls
from storage.worker import drain
from support.instance import RunningInstance
from support.oauth import bearer, make_token
from support.streams import next_message, websocket_url

AS2 = {"Accept": "application/activity+json"}


def _emoji_tags(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {tag["name"]: tag for tag in document.get("tag", []) if tag.get("type") == "Emoji"}


async def _stored_activity(instance: RunningInstance, status_id: int, kind: str) -> dict[str, Any]:
    """The activity about a status as stored for delivery (what the delivery worker sends)."""
    assert instance.ctx is not None
    async with instance.ctx.db.read() as session:
        statement = select(Activity.payload).where(
            Activity.status_id == status_id, Activity.activity_type == kind
        )
        return dict((await session.execute(statement)).scalar_one())


async def _as2(http: httpx.AsyncClient, url: str) -> dict[str, Any]:
    response = await http.get(url, headers=AS2)
    assert response.status_code == 200, response.text
    return response.json()


async def test_local_status_and_profile_use_emojis(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    ctx = instance.ctx
    assert ctx is not None
    blobcat = await moderation.add_emoji(ctx, "blobcat", png_bytes(), category="Blobs", actor="test")
    await moderation.add_emoji(ctx, "parrot", gif_bytes(), visible_in_picker=False, actor="test")
    token = await make_token(ctx, "alice")
    client = Mastodon(access_token=token, api_base_url=instance.base_url)

    posted = await asyncio.to_thread(
        client.status_post,
        "Hello :blobcat: and :nosuch: at 12:30:45 a:parrot:b",
        spoiler_text="careful :parrot:",
    )
    assert [emoji.shortcode for emoji in posted.emojis] == ["parrot", "blobcat"]
    parrot = posted.emojis[0]
    assert parrot.url.endswith("/original.gif") and parrot.static_url.endswith("/static.png")
    assert parrot.visible_in_picker is False  # hidden from the picker, shown in text
    plain = await asyncio.to_thread(client.status_post, "no emoji: here :)")
    assert plain.emojis == []

    me = await asyncio.to_thread(
        client.account_update_credentials,
        display_name="Alice :blobcat:",
        note="I like :parrot:",
        fields=[("Mood", ":blobcat:")],
    )
    assert [emoji.shortcode for emoji in me.emojis] == ["blobcat", "parrot"]

    async with instance.client(headers=bearer(token)) as http:
        entity = await call(http, "GET", f"/api/v1/statuses/{posted.id}")
        assert entity["emojis"][1] == {
            "shortcode": "blobcat",
            "url": posted.emojis[1].url,
            "static_url": posted.emojis[1].static_url,
            "visible_in_picker": True,
            "category": "Blobs",
        }
        account = await call(http, "GET", f"/api/v1/accounts/{me.id}")
        assert [emoji["shortcode"] for emoji in account["emojis"]] == ["blobcat", "parrot"]
        home = await call(http, "GET", "/api/v1/timelines/home")
        assert [[e["shortcode"] for e in status["emojis"]] for status in home] == [[], ["parrot", "blobcat"]]
        assert [e["shortcode"] for e in home[0]["account"]["emojis"]] == ["blobcat", "parrot"]

        # The Note as served, and as stored for delivery, carries Mastodon's Emoji tags.
        note = await _as2(http, posted.uri)
        tags = _emoji_tags(note)
        assert set(tags) == {":blobcat:", ":parrot:"}
        assert tags[":blobcat:"] == {
            "id": f"{instance.base_url}/emojis/{blobcat.id}",
            "type": "Emoji",
            "name": ":blobcat:",
            "updated": tags[":blobcat:"]["updated"],
            "icon": {"type": "Image", "url": posted.emojis[1].url, "mediaType": "image/png"},
        }
        assert tags[":blobcat:"]["updated"].endswith("Z")
        assert tags[":parrot:"]["icon"]["mediaType"] == "image/gif"
        context = note["@context"][-1]
        assert context["Emoji"] == "toot:Emoji" and context["toot"] == "http://joinmastodon.org/ns#"
        create = await _stored_activity(instance, int(posted.id), "Create")
        assert _emoji_tags(create["object"]) == tags

        actor = await _as2(http, account["uri"])
        assert set(_emoji_tags(actor)) == {":blobcat:", ":parrot:"}
        async with ctx.db.read() as session:
            update = (
                (
                    await session.execute(
                        select(Activity)
                        .where(Activity.activity_type == "Update", Activity.status_id.is_(None))
                        .order_by(Activity.id.desc())
                    )
                )
                .scalars()
                .first()
            )
        assert update is not None and set(_emoji_tags(update.payload["object"])) == {":blobcat:", ":parrot:"}

        # The tag's id dereferences to the Emoji itself.
        emoji_document = await _as2(http, tags[":blobcat:"]["id"])
        assert emoji_document["type"] == "Emoji" and emoji_document["icon"] == tags[":blobcat:"]["icon"]
        assert (await http.get("/emojis/123", headers=AS2)).status_code == 404

    # Removed: posts and profiles show `:blobcat:` as text again, the actor drops the tag.
    await moderation.remove_emoji(ctx, "blobcat", actor="test")
    async with instance.client(headers=bearer(token)) as http:
        entity = await call(http, "GET", f"/api/v1/statuses/{posted.id}")
        assert [emoji["shortcode"] for emoji in entity["emojis"]] == ["parrot"]
        account = await call(http, "GET", f"/api/v1/accounts/{me.id}")
        assert [emoji["shortcode"] for emoji in account["emojis"]] == ["parrot"]
        assert set(_emoji_tags(await _as2(http, account["uri"]))) == {":parrot:"}
        assert set(_emoji_tags(await _as2(http, posted.uri))) == {":parrot:"}
    # Added again, the profile that names it shows it without being edited.
    await moderation.add_emoji(ctx, "blobcat", png_bytes(), actor="test")
    async with instance.client(headers=bearer(token)) as http:
        account = await call(http, "GET", f"/api/v1/accounts/{me.id}")
        assert [emoji["shortcode"] for emoji in account["emojis"]] == ["blobcat", "parrot"]


async def test_announcements_show_the_emojis_they_use(instance: RunningInstance) -> None:
    ctx = instance.ctx
    assert ctx is not None
    await moderation.add_emoji(ctx, "blobcat", png_bytes(), actor="test")
    await moderation.publish_announcement(
        ctx, moderation.AnnouncementRequest("Welcome :blobcat: and :nosuch:"), actor="test"
    )
    token = await make_token(ctx, "alice")
    async with instance.client(headers=bearer(token)) as http:
        listed = await call(http, "GET", "/api/v1/announcements")
        assert [[emoji["shortcode"] for emoji in item["emojis"]] for item in listed] == [["blobcat"]]
        path = f"/api/v1/announcements/{listed[0]['id']}/reactions"
        await call(http, "PUT", f"{path}/blobcat")  # a local custom emoji is a reaction, as in Mastodon
        await call(http, "PUT", f"{path}/👍")
        refused = await http.put(f"{path}/nosuch")
        assert refused.status_code == 422 and "not a recognized emoji" in refused.json()["error"]
        listed = await call(http, "GET", "/api/v1/announcements")
    blobcat_url = listed[0]["emojis"][0]["url"]
    assert {r["name"]: (r["count"], r["url"]) for r in listed[0]["reactions"]} == {
        "blobcat": (1, blobcat_url),
        "👍": (1, None),
    }


async def test_edits_keep_each_revisions_emojis(instance: RunningInstance) -> None:
    ctx = instance.ctx
    assert ctx is not None
    await moderation.add_emoji(ctx, "blobcat", png_bytes(), actor="test")
    await moderation.add_emoji(ctx, "parrot", gif_bytes(), actor="test")
    token = await make_token(ctx, "alice")
    client = Mastodon(access_token=token, api_base_url=instance.base_url)
    posted = await asyncio.to_thread(client.status_post, "first :blobcat:")
    edited = await asyncio.to_thread(client.status_update, posted.id, "then :parrot:")
    assert [emoji.shortcode for emoji in edited.emojis] == ["parrot"]
    async with instance.client(headers=bearer(token)) as http:
        history = await call(http, "GET", f"/api/v1/statuses/{posted.id}/history")
    assert [[emoji["shortcode"] for emoji in revision["emojis"]] for revision in history] == [
        ["blobcat"],
        ["parrot"],
    ]
    update = await _stored_activity(instance, int(posted.id), "Update")
    assert set(_emoji_tags(update["object"])) == {":parrot:"}


async def test_a_custom_emoji_reaction_streams_its_images(instance: RunningInstance) -> None:
    ctx = instance.ctx
    assert ctx is not None
    blobcat = await moderation.add_emoji(ctx, "blobcat", png_bytes(), actor="test")
    token = await make_token(ctx, "reader", "read write")
    async with websockets.connect(
        websocket_url(instance.base_url, stream="user", access_token=token)
    ) as user:
        published = await moderation.publish_announcement(
            ctx, moderation.AnnouncementRequest("Maintenance"), actor="test"
        )
        await drain(ctx.db, job_handlers(ctx))  # the event is published by its job
        assert (await next_message(user))["event"] == "announcement"
        async with instance.client(headers=bearer(token)) as http:
            await call(http, "PUT", f"/api/v1/announcements/{published.id}/reactions/blobcat")
        message = await next_message(user)
    facts = facts_of(blobcat, LocalUrls(instance.base_url))
    assert message["event"] == "announcement.reaction"
    assert json.loads(message["payload"]) == {
        "name": "blobcat",
        "count": 1,
        "url": facts["url"],
        "static_url": facts["static_url"],
        "announcement_id": str(published.id),
    }


async def test_web_pages_show_local_emojis_as_images(instance: RunningInstance) -> None:
    ctx = instance.ctx
    assert ctx is not None
    await moderation.add_emoji(ctx, "blobcat", png_bytes(), actor="test")
    token = await make_token(ctx, "alice")
    client = Mastodon(access_token=token, api_base_url=instance.base_url)
    await asyncio.to_thread(
        client.account_update_credentials, display_name="<b>:blobcat:</b>", note="hi :blobcat:"
    )
    posted = await asyncio.to_thread(
        client.status_post,
        "#cats :blobcat: see https://example.com/:blobcat:/x and :nosuch:",
        spoiler_text="cw :blobcat:",
    )
    image = f'<img class="emoji" src="{posted.emojis[0].url}" alt=":blobcat:" title=":blobcat:">'
    async with instance.client() as http:
        for path in ("/@alice", f"/@alice/{posted.id}", "/", "/tags/cats"):
            page = await http.get(path)
            assert page.status_code == 200, path
            html = page.text
            assert f"cw {image}" in html, path  # the spoiler
            assert f"{image} see" in html, path  # the text
            assert 'href="https://example.com/:blobcat:/x"' in html, path  # never inside a tag
            assert ":nosuch:" in html, path
            assert f"&lt;b&gt;{image}&lt;/b&gt;" in html, path  # the display name, escaped
            assert "<b>" not in html, path
        profile = (await http.get("/@alice")).text
        assert f"hi {image}" in profile  # the note
