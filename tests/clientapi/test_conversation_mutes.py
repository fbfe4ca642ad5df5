"""Muting a conversation (`POST /api/v1/statuses/:id/mute`, `…/unmute`) with the real Mastodon.py client, on
both backends: the thread stops notifying its muter — local replies, favourites, and a remote reply received
through the inbox that names the thread only by `inReplyTo` — while other threads still notify; the Status
entity's `muted` tells it; unmuting lets the thread notify again. Responses validated against the OpenAPI
description."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from checked import call
from mastodon import Mastodon
from sqlalchemy import select

from storage.models import Account
from support.inbox_world import build_world
from support.oauth import bearer, make_token


def _kinds(notifications: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(n["type"], n["account"]["username"]) for n in notifications]


async def test_a_muted_thread_stops_notifying_until_unmuted(tmp_path: Path, database_url: str) -> None:
    async for world in build_world(tmp_path, database_url):
        ctx = world.ctx
        alice_token, bob_token = await make_token(ctx, "alice"), await make_token(ctx, "bob")
        alice = Mastodon(access_token=alice_token, api_base_url=world.instance.base_url)
        async with (
            world.instance.client(headers=bearer(alice_token)) as a,
            world.instance.client(headers=bearer(bob_token)) as b,
        ):
            root = await call(a, "POST", "/api/v1/statuses", data={"status": "a question to all"})
            first = await call(
                b,
                "POST",
                "/api/v1/statuses",
                data={"status": "@alice an answer", "in_reply_to_id": root["id"]},
            )
            assert _kinds(await call(a, "GET", "/api/v1/notifications")) == [("mention", "bob")]
            await call(a, "POST", "/api/v1/notifications/clear")

            muted = await asyncio.to_thread(alice.status_mute, root["id"])
            assert muted["muted"] is True
            # Deeper in the thread, a favourite of the root, and a remote reply naming only its parent:
            # none of them notifies alice.
            await call(
                b, "POST", "/api/v1/statuses", data={"status": "@alice more", "in_reply_to_id": first["id"]}
            )
            await call(b, "POST", f"/api/v1/statuses/{root['id']}/favourite")
            alice_uri = await world.scalar(select(Account.uri).where(Account.username == "alice"))
            remote_reply = world.ann.note(
                f'<p><a href="{alice_uri}">@alice</a> from afar</p>',
                inReplyTo=root["uri"],
                tag=[{"type": "Mention", "href": alice_uri, "name": "@alice"}],
            )
            response = await world.deliver(world.ann.activity("Create", remote_reply), world.ann)
            assert response.status_code == 202, response.text
            # The control: a mention in another thread still notifies.
            await call(b, "POST", "/api/v1/statuses", data={"status": "@alice elsewhere"})
            await world.drain()
            assert _kinds(await call(a, "GET", "/api/v1/notifications")) == [("mention", "bob")]
            thread = await call(a, "GET", f"/api/v1/statuses/{root['id']}/context")
            assert [status["muted"] for status in thread["descendants"]] == [True, True, True]
            assert (await call(b, "GET", f"/api/v1/statuses/{root['id']}"))["muted"] is False

            unmuted = await asyncio.to_thread(alice.status_unmute, root["id"])
            assert unmuted["muted"] is False
            await call(a, "POST", "/api/v1/notifications/clear")
            await call(
                b, "POST", "/api/v1/statuses", data={"status": "@alice again", "in_reply_to_id": root["id"]}
            )
            assert _kinds(await call(a, "GET", "/api/v1/notifications")) == [("mention", "bob")]


async def test_muting_needs_a_visible_status_and_the_mutes_scope(tmp_path: Path) -> None:
    async for world in build_world(tmp_path):
        ctx = world.ctx
        alice_token, carol_token = await make_token(ctx, "alice"), await make_token(ctx, "carol")
        reader_token = await make_token(ctx, "bob", scopes="read")
        async with (
            world.instance.client(headers=bearer(alice_token)) as a,
            world.instance.client(headers=bearer(reader_token)) as b,
            world.instance.client(headers=bearer(carol_token)) as c,
        ):
            secret = await call(
                a, "POST", "/api/v1/statuses", data={"status": "@alice note to self", "visibility": "direct"}
            )
            public = await call(a, "POST", "/api/v1/statuses", data={"status": "open"})
            response = await b.post(f"/api/v1/statuses/{public['id']}/mute")
            assert response.status_code == 403 and "error" in response.json()
            for status_id in (secret["id"], "99999"):
                response = await c.post(f"/api/v1/statuses/{status_id}/mute")
                assert response.status_code == 404 and "error" in response.json()
            assert (await call(c, "POST", f"/api/v1/statuses/{public['id']}/mute"))["muted"] is True
