"""Direct-message conversations through the real endpoints and the Mastodon.py client, on both backends:
a direct status — local, or received through the inbox — makes a conversation for each local participant
it reaches, unread for all but its author; replies in the thread move it on; another set of participants
is another conversation; reading, removing (until the next message) and deleting statuses; blocks keep a
conversation out; bad ids, another's conversation and missing scopes change nothing. Responses validated
against the OpenAPI description."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import websockets
from checked import call
from mastodon import Mastodon
from sqlalchemy import func, select

from storage.models import AccountConversation, Status
from support.inbox_world import build_world
from support.oauth import bearer, make_token, make_user
from support.openapi import validate_entity
from support.streams import next_sse_event


def _summary(conversations: list[dict[str, Any]]) -> list[tuple[list[str], bool, str]]:
    return [
        (
            sorted(account["username"] for account in conversation["accounts"]),
            conversation["unread"],
            str(conversation["last_status"]["id"]),
        )
        for conversation in conversations
    ]


async def test_direct_messages_make_conversations(tmp_path: Path, database_url: str) -> None:
    async for world in build_world(tmp_path, database_url):
        ctx = world.ctx
        names = ("alice", "bob", "carol")
        tokens = {name: await make_token(ctx, name) for name in names}
        accounts = {name: await make_user(ctx, name) for name in names}
        alice = Mastodon(access_token=tokens["alice"], api_base_url=world.instance.base_url)
        async with (
            world.instance.client(headers=bearer(tokens["alice"])) as a,
            world.instance.client(headers=bearer(tokens["bob"])) as b,
            world.instance.client(headers=bearer(tokens["carol"])) as c,
        ):

            async def direct(client: Any, text: str, reply_to: str | None = None) -> str:
                data = {"status": text, "visibility": "direct"}
                if reply_to:
                    data["in_reply_to_id"] = reply_to
                return str((await call(client, "POST", "/api/v1/statuses", data=data))["id"])

            first = await direct(b, "@alice hello")
            assert _summary(await call(a, "GET", "/api/v1/conversations")) == [(["bob"], True, first)]
            assert _summary(await call(b, "GET", "/api/v1/conversations")) == [(["alice"], False, first)]
            answer = await direct(a, "@bob hi back", first)
            assert _summary(await call(a, "GET", "/api/v1/conversations")) == [(["bob"], False, answer)]
            assert _summary(await call(b, "GET", "/api/v1/conversations")) == [(["alice"], True, answer)]

            # Another set of participants is another conversation; a public mention makes none.
            group = await direct(b, "@alice @carol all of us")
            await call(b, "POST", "/api/v1/statuses", data={"status": "@alice in public"})
            listed = await asyncio.to_thread(alice.conversations)
            assert _summary(listed) == [(["bob", "carol"], True, group), (["bob"], False, answer)]
            assert _summary(await call(c, "GET", "/api/v1/conversations")) == [
                (["alice", "bob"], True, group)
            ]
            paged = await a.get("/api/v1/conversations", params={"limit": 1})
            assert [item["id"] for item in paged.json()] == [str(listed[0]["id"])]
            assert f"max_id={group}" in paged.headers["link"]
            older = await call(a, "GET", "/api/v1/conversations", params={"max_id": group})
            assert _summary(older) == [(["bob"], False, answer)]

            read = await asyncio.to_thread(alice.conversations_read, listed[0]["id"])
            assert read["unread"] is False
            assert _summary(await call(a, "GET", "/api/v1/conversations"))[0] == (
                ["bob", "carol"],
                False,
                group,
            )

            # Removed, it stays away until the next message, which brings it back unread.
            assert await call(a, "DELETE", f"/api/v1/conversations/{listed[1]['id']}") == {}
            assert _summary(await call(a, "GET", "/api/v1/conversations")) == [
                (["bob", "carol"], False, group)
            ]
            again = await direct(b, "@alice are you there?", answer)
            assert _summary(await call(a, "GET", "/api/v1/conversations"))[0] == (["bob"], True, again)

            # A blocked author starts no conversation for the blocker (its own is made).
            await call(a, "POST", f"/api/v1/accounts/{accounts['carol'].id}/block")
            from_carol = await direct(c, "@alice psst")
            assert from_carol not in [
                row[2] for row in _summary(await call(a, "GET", "/api/v1/conversations"))
            ]
            assert _summary(await call(c, "GET", "/api/v1/conversations"))[0] == (
                ["alice"],
                False,
                from_carol,
            )

            # A direct status received through the inbox.
            remote = world.ann.note(
                f'<p><a href="{world.alice.uri}">@alice</a> from afar</p>',
                to=[world.alice.uri],
                cc=[],
                tag=[{"type": "Mention", "href": world.alice.uri, "name": "@alice"}],
            )
            response = await world.deliver(
                world.ann.activity("Create", remote, to=[world.alice.uri]), world.ann
            )
            assert response.status_code == 202, response.text
            await world.drain()
            remote_id = str(await world.scalar(select(Status.id).where(Status.uri == remote["id"])))
            found = _summary(await call(a, "GET", "/api/v1/conversations"))
            assert (["ann"], True, remote_id) in found

            # Deleting the last status falls back to the one before (still unread); deleting every one
            # removes the conversation.
            await call(b, "DELETE", f"/api/v1/statuses/{again}")
            assert (["bob"], True, answer) in _summary(await call(a, "GET", "/api/v1/conversations"))
            await call(a, "DELETE", f"/api/v1/statuses/{answer}")
            assert (["bob"], True, first) in _summary(await call(a, "GET", "/api/v1/conversations"))
            await call(b, "DELETE", f"/api/v1/statuses/{first}")
            assert ["bob"] not in [row[0] for row in _summary(await call(a, "GET", "/api/v1/conversations"))]
            assert _summary(await call(b, "GET", "/api/v1/conversations")) == [
                (["alice", "carol"], False, group)
            ]


async def test_conversation_refusals_change_nothing(tmp_path: Path, database_url: str) -> None:
    async for world in build_world(tmp_path, database_url):
        ctx = world.ctx
        alice, mallory = bearer(await make_token(ctx, "alice")), bearer(await make_token(ctx, "mallory"))
        read_only = bearer(await make_token(ctx, "alice", scopes="read"))
        bob = bearer(await make_token(ctx, "bob"))
        async with world.instance.client(headers=alice) as a, world.instance.client(headers=mallory) as m:
            await call(a, "POST", "/api/v1/statuses", data={"status": "@bob secret", "visibility": "direct"})
            (mine,) = await call(a, "GET", "/api/v1/conversations")
            for method, path in (("POST", f"{mine['id']}/read"), ("DELETE", mine["id"])):
                await call(m, method, f"/api/v1/conversations/{path}", expect=404)
            await call(a, "POST", "/api/v1/conversations/nope/read", expect=404)
            await call(a, "DELETE", "/api/v1/conversations/123456789", expect=404)
            response = await a.delete(f"/api/v1/conversations/{mine['id']}", headers=read_only)
            assert response.status_code == 403 and "error" in response.json()
            response = await a.get("/api/v1/conversations", headers={"Authorization": "Bearer nope"})
            assert response.status_code == 401 and "error" in response.json()
            assert await call(m, "GET", "/api/v1/conversations") == []
            assert await call(a, "GET", "/api/v1/conversations") == [mine]
        async with world.instance.client(headers=bob) as b:
            assert len(await call(b, "GET", "/api/v1/conversations")) == 1
        async with ctx.db.read() as session:
            assert await session.scalar(select(func.count()).select_from(AccountConversation)) == 2


async def test_the_direct_stream_carries_conversations(tmp_path: Path) -> None:
    """`/api/v1/streaming/direct` (and `stream=direct` over WebSocket) tells its listener of each conversation
    a direct status moves, as Mastodon's `conversation` event; nothing else travels on it."""
    async for world in build_world(tmp_path):
        ctx = world.ctx
        alice_token = await make_token(ctx, "alice")
        notifications_only = await make_token(ctx, "alice", scopes="read:notifications")
        bob = bearer(await make_token(ctx, "bob"))
        async with (
            world.instance.client(headers=bearer(alice_token)) as a,
            world.instance.client(headers=bob) as b,
        ):
            refused = await a.get("/api/v1/streaming/direct", headers=bearer(notifications_only))
            assert refused.status_code == 401 and "error" in refused.json()  # as Mastodon answers a scope
            async with a.stream("GET", "/api/v1/streaming/direct") as response:
                assert response.status_code == 200
                lines = response.aiter_lines()
                assert await anext(lines) == ":)"
                await call(b, "POST", "/api/v1/statuses", data={"status": "@alice in public"})
                sent = await call(
                    b, "POST", "/api/v1/statuses", data={"status": "@alice psst", "visibility": "direct"}
                )
                event, data = await asyncio.wait_for(next_sse_event(lines), 10)
                conversation = json.loads(data)
                assert event == "conversation"
                validate_entity("Conversation", conversation)
                assert _summary([conversation]) == [(["bob"], True, sent["id"])]
            url = world.instance.base_url.replace("http://", "ws://")
            async with websockets.connect(
                f"{url}/api/v1/streaming?stream=direct&access_token={alice_token}"
            ) as socket:
                answer = await call(
                    a,
                    "POST",
                    "/api/v1/statuses",
                    data={"status": "@bob yes", "visibility": "direct", "in_reply_to_id": sent["id"]},
                )
                message = json.loads(await asyncio.wait_for(socket.recv(), 10))
            assert message["event"] == "conversation" and message["stream"] == ["direct"]
            assert _summary([json.loads(message["payload"])]) == [(["bob"], False, answer["id"])]
