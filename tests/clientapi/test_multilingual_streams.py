"""A status in several languages on the public and hashtag streams (docs/MULTILINGUAL.md): each listener
hears it in its own language — its account's setting, else its stream's Accept-Language, else the primary —
through real SSE streams on both backends; the user stream follows its Accept-Language too."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

from checked import call

from clientapi.stream_hub import stream_hub
from support.instance import RunningInstance
from support.oauth import bearer, make_token
from support.streams import next_sse_event

POST = {
    "status": "Goeie moarn #Fryslân",
    "language": "fy",
    "status_map[nl]": "Goedemorgen #Fryslân",
    "status_map[en]": "Good morning #Fryslân",
    "spoiler_text_map[en]": "weather",
}


async def _reader(instance: RunningInstance, name: str, language: str | None) -> str:
    token = await make_token(instance.ctx, name)
    if language is not None:
        async with instance.client(headers=bearer(token)) as api:
            sent = {"source[language]": language}
            await call(api, "PATCH", "/api/v1/accounts/update_credentials", data=sent)
    return token


async def test_public_and_hashtag_streams_show_each_listener_its_language(
    instance_on_each_backend: RunningInstance,
) -> None:
    instance = instance_on_each_backend
    listeners = [  # (token, channel path, Accept-Language, the language expected)
        (await _reader(instance, "erik", "en"), "/api/v1/streaming/public", "nl", "en"),
        (await _reader(instance, "nina", "nl"), "/api/v1/streaming/public", None, "nl"),
        (await _reader(instance, "noor", "nl"), "/api/v1/streaming/public/local", "en", "nl"),
        (await _reader(instance, "emma", None), "/api/v1/streaming/hashtag?tag=fryslân", "en-GB", "en"),
        (await _reader(instance, "piet", None), "/api/v1/streaming/public", "de", "fy"),
        (await _reader(instance, "anne", None), "/api/v1/streaming/user", "en", "en"),
    ]
    texts = {"fy": "Goeie moarn", "nl": "Goedemorgen", "en": "Good morning"}
    alice = bearer(await make_token(instance.ctx, "alice"))
    async with instance.client(headers=alice) as author:
        alice_id = (await call(author, "GET", "/api/v1/accounts/verify_credentials"))["id"]
    async with instance.client(headers=bearer(listeners[-1][0])) as follower:  # her home hears alice
        await call(follower, "POST", f"/api/v1/accounts/{alice_id}/follow")
    async with contextlib.AsyncExitStack() as stack, instance.client() as client:
        streams: list[AsyncIterator[str]] = []
        for token, path, accept, _ in listeners:
            headers = bearer(token) | ({"Accept-Language": accept} if accept else {})
            response = await stack.enter_async_context(client.stream("GET", path, headers=headers))
            lines = response.aiter_lines()
            assert await anext(lines) == ":)"
            streams.append(lines)
        assert stream_hub(instance.ctx).subscriptions() == len(listeners)
        async with instance.client(headers=alice) as author:
            posted = await call(author, "POST", "/api/v1/statuses", data=POST)
        for lines, (_, path, _, expected) in zip(streams, listeners, strict=True):
            event, data = await asyncio.wait_for(next_sse_event(lines), 10)  # a bound for a hung test
            status = json.loads(data)
            assert event == "update" and status["id"] == posted["id"], path
            assert status["language"] == expected and texts[expected] in status["content"], (path, status)
            assert status["spoiler_text"] == ("weather" if expected == "en" else "")
            assert status["plein_languages"] == ["fy", "en", "nl"]
