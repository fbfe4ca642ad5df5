"""Reading Mastodon streaming responses in tests."""

from __future__ import annotations

from collections.abc import AsyncIterator


async def next_sse_event(lines: AsyncIterator[str]) -> tuple[str, str]:
    """The next (event, data) of a server-sent-event stream's lines; heartbeats and comments skipped."""
    event = ""
    async for line in lines:
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event:
            return event, line[6:]
    raise AssertionError("stream ended")
