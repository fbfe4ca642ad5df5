"""Open streams end with the authority they were opened under.

A stream is authorised once, when it opens; afterwards its token may be revoked (`POST /oauth/revoke`, a
reused authorization code), its user's password changed or its account suspended — by this process, by the
`plein` CLI, or by another `plein serve` sharing the database. On SQLite the event bus is in-process, so it
cannot be the only messenger (the CLI is another process): while a token has open streams, one watcher re-reads that token's validity every
`RECHECK_SECONDS` (a single indexed read, `storage.oauth.token_is_live`, shared by all of the token's
streams), and re-reads at once when this process publishes `storage.oauth.AUTHORITY_CHANGED`. When the token
is dead, the watcher sets the event its streams wait on, and they close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from storage.context import Context
from storage.oauth import AUTHORITY_CHANGED, token_is_live

logger = logging.getLogger(__name__)

RECHECK_SECONDS = 3.0


@dataclass
class _Watch:
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    streams: int = 0
    task: asyncio.Task[None] | None = None
    # Called when the token dies: each stream's own way to stop at once without a task waiting on `ended`.
    on_end: list[Callable[[], object]] = field(default_factory=list)


class TokenWatcher:
    """Token id → one watcher task and the event its streams wait on, for as long as any stream is open."""

    def __init__(self, ctx: Context, recheck_seconds: float = RECHECK_SECONDS) -> None:
        self._ctx = ctx
        self._recheck_seconds = recheck_seconds
        self._watches: dict[int, _Watch] = {}

    @contextlib.asynccontextmanager
    async def watch(
        self, token_id: int, on_end: Callable[[], object] | None = None
    ) -> AsyncIterator[asyncio.Event]:
        """An event set once token `token_id` may no longer act, for the duration of one stream; `on_end` is
        called then too."""
        watch = self._watches.get(token_id)
        if watch is None:
            watch = self._watches[token_id] = _Watch()
            watch.task = asyncio.create_task(self._run(token_id, watch), name=f"stream-authority:{token_id}")
        watch.streams += 1
        if on_end is not None:
            watch.on_end.append(on_end)
        try:
            yield watch.ended
        finally:
            if on_end is not None:
                watch.on_end.remove(on_end)
            watch.streams -= 1
            if watch.streams == 0:
                del self._watches[token_id]
                if watch.task is not None:
                    watch.task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await watch.task

    def open_streams(self, token_id: int) -> int:
        """How many open streams token `token_id` has (they share one watcher)."""
        watch = self._watches.get(token_id)
        return watch.streams if watch else 0

    async def _run(self, token_id: int, watch: _Watch) -> None:
        async with self._ctx.bus.subscribe(AUTHORITY_CHANGED.topic) as changes:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changes.get(), timeout=self._recheck_seconds)
                try:
                    async with self._ctx.db.read() as session:
                        live = await token_is_live(session, token_id)
                except Exception:  # a database hiccup must not end, nor keep alive, a stream: try again
                    logger.exception("streaming: cannot re-check token %s", token_id)
                    continue
                if not live:
                    watch.ended.set()
                    for on_end in list(watch.on_end):
                        on_end()
                    return


def token_watcher(ctx: Context) -> TokenWatcher:
    """This process's `TokenWatcher` (made on first use)."""
    watcher = ctx.caches.get("clientapi.token_watcher")
    if watcher is None:
        watcher = ctx.caches["clientapi.token_watcher"] = TokenWatcher(ctx)
    return watcher  # type: ignore[no-any-return]
