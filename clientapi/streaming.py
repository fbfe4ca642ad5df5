"""The streaming API: server-sent events (`/api/v1/streaming/<channel path>`) and the multiplexed WebSocket
(`/api/v1/streaming`), fed by this process's stream hub (`clientapi.stream_hub`), which hears the event bus.

Channels, tokens, scopes and error answers are Mastodon's (`clientapi.stream_channels`). Over WebSocket a
client subscribes with the URL's `stream` (plus `tag` / `list`) and with `{"type": "subscribe", "stream":
…}` messages, and leaves with `unsubscribe`; a refused subscription answers `{"error": …, "status": …}` and
the socket stays open. A refused handshake is an HTTP answer with a JSON error, as Mastodon's.

Heartbeats: SSE writes a `:thump` comment after 15 s of silence (Mastodon's interval); WebSocket pings are
uvicorn's (every 20 s, a client silent for 20 s more is closed). A stream ends when its token loses its
authority (`clientapi.stream_authority`: SSE ends, WebSocket closes with 4401), and when its client falls
behind (the hub drops it: SSE ends, WebSocket closes with 1013).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from clientapi.errors import ApiError
from clientapi.stream_authority import token_watcher
from clientapi.stream_channels import Channel, Viewer, authenticate, channel_from_path, resolve_channel
from clientapi.stream_hub import Connection, Message, stream_hub
from storage.context import Context

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15.0
FALSE_VALUES = frozenset({"0", "f", "F", "false", "FALSE", "off", "OFF"})  # Mastodon's isTruthy


class StreamEnded(Exception):
    """The stream's token may no longer act, or its client fell behind."""


async def queued(connection: Connection) -> AsyncIterator[Message | str | None]:
    """The connection's queued items, None after each HEARTBEAT_SECONDS of silence, until it ends."""
    while True:
        try:
            yield await next_item(connection)
        except StreamEnded:
            return


async def next_item(connection: Connection) -> Message | str | None:
    """The connection's next queued item; None after HEARTBEAT_SECONDS of silence; StreamEnded once it ended
    (its token died, or it was dropped). An idle stream waits on its queue alone — a timer, not a task, wakes
    it for the heartbeat, and its end wakes it through the queue — so 500 idle streams cost little."""
    if connection.ended:
        raise StreamEnded
    if connection.outbox.empty():
        beat = asyncio.get_running_loop().call_later(HEARTBEAT_SECONDS, connection.wake)
        try:
            item = await connection.outbox.get()
        finally:
            beat.cancel()
    else:
        item = connection.outbox.get_nowait()
    if connection.ended:
        raise StreamEnded
    return item


class EventStream(Response):
    """A server-sent-event stream of one channel; it ends when the client leaves, the token dies or the
    client falls behind — then even a write the client is not reading is abandoned."""

    def __init__(self, ctx: Context, viewer: Viewer, channel: Channel) -> None:
        # Not Response.__init__: it would announce a Content-Length of the empty body.
        self.status_code, self.background = 200, None
        self.raw_headers = [
            (b"content-type", b"text/event-stream"),
            (b"cache-control", b"no-store"),
            (b"x-accel-buffering", b"no"),
        ]
        self.ctx, self.viewer, self.channel = ctx, viewer, channel

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hub = stream_hub(self.ctx)
        async with (
            hub.connect(self.viewer) as conn,
            token_watcher(self.ctx).watch(self.viewer.token_id, conn.end),
        ):
            hub.subscribe(
                conn, self.channel
            )  # before the first byte: a client that has it misses nothing after
            writer = asyncio.create_task(self._write(send, conn))
            conn.on_drop = (
                writer.cancel
            )  # a client that fell behind: even a write it is not reading is abandoned
            left = asyncio.create_task(_disconnected(receive))
            try:
                await asyncio.wait((writer, left), return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (writer, left):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, OSError):  # OSError: the client left
                        await task

    async def _write(self, send: Send, connection: Connection) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": b":)\n", "more_body": True})
        async for item in queued(connection):
            if isinstance(item, Message):
                # No payload is written `undefined`, as Mastodon's server writes it (and clients expect it).
                payload = "undefined" if item.payload is None else item.payload
                chunk = f"event: {item.event}\ndata: {payload}\n\n".encode()
            else:
                chunk = b":thump\n"
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        if not connection.dropped.is_set():
            await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def server_sent_events(request: Request) -> Response:
    ctx: Context = request.state.ctx
    only_media = request.query_params.get("only_media", "") not in FALSE_VALUES | {""}
    name = channel_from_path(request.url.path, only_media)
    viewer = await authenticate(ctx, request)
    channel = await resolve_channel(ctx, viewer, name, request.query_params)
    return EventStream(ctx, viewer, channel)


async def websocket_stream(websocket: WebSocket) -> None:
    ctx: Context = websocket.state.ctx
    try:
        viewer = await authenticate(ctx, websocket)
    except ApiError as error:
        await _refuse(websocket, error)
        return
    hub = stream_hub(ctx)
    async with (
        hub.connect(viewer) as connection,
        token_watcher(ctx).watch(viewer.token_id, connection.end) as ended,
    ):
        if stream := websocket.query_params.get(
            "stream"
        ):  # before the handshake ends: nothing after is missed
            await _subscription(ctx, connection, "subscribe", stream, websocket.query_params)
        protocol = websocket.headers.get("sec-websocket-protocol")
        await websocket.accept(subprotocol=protocol.strip() if protocol else None)
        tasks = (
            asyncio.create_task(_send(websocket, connection)),
            asyncio.create_task(_read(ctx, websocket, connection)),
        )
        connection.on_drop = tasks[0].cancel  # a client that fell behind: even a write it is not reading goes
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
                    await task
        if ended.is_set():
            await websocket.close(code=4401, reason="The access token is no longer valid")
        elif connection.dropped.is_set():
            with contextlib.suppress(Exception):  # the client is not reading: do not wait on it for long
                await asyncio.wait_for(websocket.close(code=1013, reason="Too slow"), 5)


async def _refuse(websocket: WebSocket, error: ApiError) -> None:
    """Answer a refused handshake over HTTP, as Mastodon does (a close code where the server cannot)."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        response = JSONResponse({"error": error.message}, error.status_code, headers=error.headers)
        await websocket.send_denial_response(response)
    else:
        await websocket.close(code=4000 + error.status_code, reason=error.message)


async def _subscription(ctx: Context, connection: Connection, action: str, stream: Any, params: Any) -> None:
    """Act on a subscribe / unsubscribe; a refusal is queued for the client as Mastodon's error message."""
    name = stream[0] if isinstance(stream, list) and stream else stream
    if not isinstance(name, str):
        name = ""
    values = {key: str(params[key]) for key in ("tag", "list") if params.get(key) is not None}
    hub = stream_hub(ctx)
    try:
        channel = await resolve_channel(ctx, connection.viewer, name, values)
    except ApiError as error:
        if action == "subscribe":
            connection.offer(orjson.dumps({"error": error.message, "status": error.status_code}).decode())
        else:
            connection.offer(orjson.dumps({"error": "Error unsubscribing from channel"}).decode())
        return
    if action == "subscribe":
        hub.subscribe(connection, channel)
    else:
        hub.unsubscribe(connection, channel)


async def _read(ctx: Context, websocket: WebSocket, connection: Connection) -> None:
    """Act on the client's messages until it leaves; unparseable ones and unknown types are ignored."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") is None:
            await websocket.close(code=1003, reason="Binary messages are not supported")
            return
        try:
            request = orjson.loads(message["text"])
        except orjson.JSONDecodeError:
            logger.info("streaming: unparseable message from account %s", connection.viewer.account_id)
            continue
        if isinstance(request, dict) and request.get("type") in ("subscribe", "unsubscribe"):
            await _subscription(ctx, connection, request["type"], request.get("stream"), request)


async def _send(websocket: WebSocket, connection: Connection) -> None:
    async for item in queued(connection):
        if isinstance(item, Message):
            frame: dict[str, Any] = {"stream": item.stream, "event": item.event}
            if item.payload is not None:  # an event without a payload has no `payload` key (Mastodon)
                frame["payload"] = item.payload
            await websocket.send_text(orjson.dumps(frame).decode())
        elif item is not None:
            await websocket.send_text(item)


async def health(request: Request) -> Response:
    return PlainTextResponse("OK")


SSE_PATHS = (
    "user",
    "user/notification",
    "public",
    "public/local",
    "public/remote",
    "hashtag",
    "hashtag/local",
    "list",
    "direct",
)

routes = [
    Route("/api/v1/streaming/health", health, methods=["GET"]),
    WebSocketRoute("/api/v1/streaming", websocket_stream),
    *(Route(f"/api/v1/streaming/{path}", server_sent_events, methods=["GET"]) for path in SSE_PATHS),
]
