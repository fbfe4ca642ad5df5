"""The size limit of request bodies, for every route, enforced below the routes before a body is read; and
no NUL character in a request's URL.

A pure ASGI middleware: a declared `Content-Length` over the route's limit is refused at once with 413 and
nothing is read; a body without one (chunked) is counted as the route reads it, and refused with 413 as soon
as it passes the limit. Media uploads get `limits.max_media_bytes` (plus room for the multipart framing and
the other form fields), everything else `limits.max_body_bytes`, the inbox included.

A client that goes away in the middle of its body gets a logged 400 instead of a traceback: there is
nobody left to answer, and it is the client's doing, not the server's.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from plein.errors import json_error

logger = logging.getLogger("plein.http")

# Room around an uploaded file for the multipart boundaries, part headers, `description` (1 500 characters,
# up to 6 kB in UTF-8) and `focus`.
MULTIPART_OVERHEAD = 64 * 1024


class BodyTooLarge(Exception):
    """Raised from `receive` when a streamed body passes its limit; the middleware answers 413."""


class BodyLimit:
    """Refuse request bodies larger than their route's limit (413), declared or streamed."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, path_limits: Mapping[str, int]) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.path_limits = dict(path_limits)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or b"%00" in scope["query_string"] or b"\x00" in scope["query_string"]:
            # No text column of PostgreSQL can hold a NUL: refused here, it cannot reach a query as a 500.
            await self._refuse(scope, receive, send, 400, "The URL contains a NUL character")
            return
        limit = self.path_limits.get(scope["path"], self.max_body_bytes)
        declared = _declared_length(scope)
        if declared == -1:
            await self._refuse(scope, receive, send, 400, "Content-Length is not a number")
            return
        if declared is not None and declared > limit:
            await self._refuse(scope, receive, send, 413, f"The request body is larger than {limit} bytes")
            return
        if declared is not None:
            # The server frames the body by the declared length (h11 and httptools stop reading there), so
            # a body within it needs no counting: the inbox's hot path pays nothing here.
            await self._run(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(f"The request body is larger than {limit} bytes")
            return message

        await self._run(scope, counted, send)

    async def _run(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except BodyTooLarge as error:
            if started:
                raise
            await self._refuse(scope, receive, send, 413, str(error))
        except ClientDisconnect:
            if started:
                raise
            await self._refuse(scope, receive, send, 400, "The client went away before its body ended")

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, status: int, message: str) -> None:
        logger.info("%s %s refused %d: %s", scope["method"], scope["path"], status, message)
        # The server discards whatever of the body still arrives (nothing of it is buffered): closing at once
        # instead would reset the connection under a client still sending, which then never sees the answer.
        await json_error(status, message)(scope, receive, send)


def _declared_length(scope: Scope) -> int | None:
    """The `Content-Length` of the request, None without one, -1 when it is not a plain number."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() and len(value) <= 19 else -1
    return None
