"""Reading Mastodon streaming responses in tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote


async def next_sse_event(lines: AsyncIterator[str]) -> tuple[str, str]:
    """The next (event, data) of a server-sent-event stream's lines; heartbeats and comments skipped."""
    event = ""
    async for line in lines:
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event:
            return event, line[6:]
    raise AssertionError("stream ended")


def websocket_url(base_url: str, **params: str) -> str:
    """The multiplexed streaming WebSocket of the instance at `base_url`, with query parameters."""
    query = "&".join(f"{key}={quote(value)}" for key, value in params.items())
    return base_url.replace("http://", "ws://", 1) + "/api/v1/streaming" + (f"?{query}" if query else "")


async def next_message(socket: Any) -> dict[str, Any]:
    """The next JSON message of a streaming WebSocket (within 10 s: a bound for a hung test only)."""
    return json.loads(await asyncio.wait_for(socket.recv(), 10))  # type: ignore[no-any-return]
