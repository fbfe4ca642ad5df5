"""Filters on the streaming API over real HTTP: the user stream (SSE) leaves out statuses and notifications a
`hide` filter matches and marks `warn` matches in `filtered`; a change of filters is announced as
`filters_changed` (no payload, as Mastodon) and applies to the open stream at once; public streams
(WebSocket) apply the `public` filters and re-read them after a change without announcing it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import websockets

from outbox.actions import follow, post_status
from support.filters import create_filter
from support.instance import RunningInstance
from support.oauth import bearer, make_token, make_user
from support.streams import next_sse_event


async def _next(lines: AsyncIterator[str]) -> tuple[str, str]:
    return await asyncio.wait_for(next_sse_event(lines), 10)


async def test_user_stream_applies_filters_and_hears_them_change(instance: RunningInstance) -> None:
    ctx = instance.ctx
    token = bearer(await make_token(ctx, "alice", "read write"))
    alice, bob = await make_user(ctx, "alice"), await make_user(ctx, "bob")
    await follow(ctx, alice, bob)
    async with instance.client(headers=token) as a:
        await create_filter(a, ["home", "notifications"], "hide", "secret")
        warning = await create_filter(a, ["home"], "warn", "budget")
        async with a.stream("GET", "/api/v1/streaming/user") as response:
            lines = response.aiter_lines()
            assert await anext(lines) == ":)"
            await post_status(ctx, bob, text="the secret plan")
            await post_status(
                ctx, bob, text="@alice a secret for you"
            )  # update and notification: both hidden
            await post_status(ctx, bob, text="budget day")
            event, data = await _next(lines)
            assert event == "update" and "budget day" in json.loads(data)["content"]
            (result,) = json.loads(data)["filtered"]
            assert result["filter"]["id"] == warning["id"] and result["keyword_matches"] == ["budget"]
            await post_status(ctx, bob, text="@alice hello")
            seen = {}
            while set(seen) != {"update", "notification"}:
                event, data = await _next(lines)
                seen[event] = json.loads(data)
            assert "hello" in seen["notification"]["status"]["content"]

            # A new filter: announced without payload, and applied to this stream from the next event on.
            await create_filter(a, ["home"], "hide", "weather")
            assert await _next(lines) == ("filters_changed", "undefined")
            await post_status(ctx, bob, text="weather report")
            await post_status(ctx, bob, text="the final word")
            event, data = await _next(lines)
            assert event == "update" and "the final word" in json.loads(data)["content"]


async def test_public_websocket_stream_applies_public_filters(instance: RunningInstance) -> None:
    ctx = instance.ctx
    token = await make_token(ctx, "alice", "read write")
    bob = await make_user(ctx, "bob")
    base = instance.base_url.replace("http://", "ws://") + f"/api/v1/streaming?access_token={token}"
    async with instance.client(headers=bearer(token)) as a:
        await create_filter(a, ["home"], "hide", "cats")  # not a public filter
        async with (
            websockets.connect(base + "&stream=public") as public,
            websockets.connect(base + "&stream=user") as user,
        ):
            await post_status(ctx, bob, text="cats and dogs")
            message = json.loads(await asyncio.wait_for(public.recv(), 10))
            assert "cats and dogs" in json.loads(message["payload"])["content"]

            await create_filter(a, ["public"], "hide", "dogs")
            changed = json.loads(await asyncio.wait_for(user.recv(), 10))
            assert changed == {"stream": ["user"], "event": "filters_changed"}  # no payload key
            await post_status(ctx, bob, text="more dogs")
            await post_status(ctx, bob, text="a quiet day")
            # The public stream said nothing of the change, re-read the filters, and left the dogs out.
            message = json.loads(await asyncio.wait_for(public.recv(), 10))
            assert message["event"] == "update" and "a quiet day" in json.loads(message["payload"])["content"]
