"""The streaming API: server-sent events and WebSocket, fed by the post-commit event bus.

Streams: `user` (home timeline updates and notifications), `user:notification`, `public`, `public:local`,
`public:remote`, and `list` (new statuses of one of the caller's lists, named by the `list` parameter). Every
stream needs a token with `read` (or `read:statuses` / `read:notifications` / `read:lists`).
The token comes from `Authorization: Bearer`, the `access_token` query parameter, or — for WebSocket
clients, as Mastodon allows — the `Sec-WebSocket-Protocol` header.

Statuses and notifications pass the listener's filters (`clientapi.filtering`: `home` on the user and list
streams, `public` on the public ones, `notifications` for notifications), compiled once per stream and read
again after `filters_changed`, which the user stream also forwards to the client.

Events are those of this process's bus: in a scale-out set-up a client only hears what its own process
published (cross-process fan-out through PostgreSQL LISTEN/NOTIFY is not built yet). A stream ends when its
token loses its authority, wherever that happened (`clientapi.stream_authority`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection, Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from clientapi.auth import scope_granted
from clientapi.entities.conversations import conversations_to_entities
from clientapi.entities.notifications import notifications_to_entities
from clientapi.entities.statuses import statuses_to_entities
from clientapi.errors import ApiError, Forbidden, NotFound, Unauthorized
from clientapi.stream_authority import token_watcher
from storage.bus import Event
from storage.context import Context
from storage.conversations import conversation_at
from storage.filter_matching import ViewerFilters, read_viewer_filters
from storage.filters import FILTERS_CHANGED, filters_topic
from storage.ids import parse_id
from storage.lists import owned_list
from storage.models import Account, Notification, Status
from storage.oauth import token_owner
from storage.timelines import hidden_author

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 30.0
FILTERS_FRESH_SECONDS = 30.0
STREAM_SCOPES = {
    "user": ("read:statuses", "read:notifications"),
    "user:notification": ("read:notifications",),
    "public": ("read:statuses",),
    "public:local": ("read:statuses",),
    "public:remote": ("read:statuses",),
    "list": ("read:lists",),
    "direct": ("read:statuses",),
}


def _token_of(connection: HTTPConnection) -> str | None:
    scheme, _, value = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if token := connection.query_params.get("access_token"):
        return token
    protocol = connection.headers.get("sec-websocket-protocol", "").strip()
    return protocol or None


async def _authorise(ctx: Context, connection: HTTPConnection, stream: str) -> tuple[Account, int]:
    """The account listening and its token's id, or ApiError (401 bad token, 403 scope, 404 unknown stream)."""
    if stream not in STREAM_SCOPES:
        raise NotFound("Unknown stream type")
    token = _token_of(connection)
    if token is None:
        raise Unauthorized("Missing access token")
    async with ctx.db.read() as session:
        owner = await token_owner(session, token)
    if owner is None or owner.account is None:
        raise Unauthorized("The access token is invalid")
    if owner.account.suspended_at is not None:
        raise Forbidden("Your login is currently disabled")
    granted = frozenset(owner.token.scopes.split())
    if not all(scope_granted(granted, scope) for scope in STREAM_SCOPES[stream]):
        raise Forbidden("This action is outside the authorized scopes")
    return owner.account, owner.token.id


async def _topics(ctx: Context, connection: HTTPConnection, stream: str, account_id: int) -> list[str]:
    """The bus topics a stream listens to, its own first; a `list` stream only to a list of the caller's
    (else 404). Every stream also hears when the caller's filters change (`filters_topic`)."""
    if stream in ("user", "user:notification"):
        return [f"user:{account_id}", filters_topic(account_id)]
    if stream == "direct":
        return [f"direct:{account_id}", filters_topic(account_id)]
    if stream == "list":
        list_id = parse_id(connection.query_params.get("list"))
        async with ctx.db.read() as session:
            if list_id is None or await owned_list(session, account_id, list_id) is None:
                raise NotFound("Record not found")
        return [f"list:{list_id}", filters_topic(account_id)]
    return [stream, filters_topic(account_id)]


class StreamFilters:
    """The listener's compiled filters, read when the stream opens and again after they change: at once
    when this process changed them (`filters_changed`), else within FILTERS_FRESH_SECONDS (a change made
    through another process)."""

    def __init__(self, ctx: Context, viewer_id: int) -> None:
        self._ctx = ctx
        self._viewer_id = viewer_id
        self._filters: ViewerFilters | None = None
        self._read_at = 0.0

    def forget(self) -> None:
        self._filters = None

    async def current(self, session: AsyncSession) -> ViewerFilters:
        now = time.monotonic()
        if self._filters is None or now - self._read_at > FILTERS_FRESH_SECONDS:
            self._filters = await read_viewer_filters(session, self._viewer_id)
            self._read_at = now
        return self._filters


async def _render(
    ctx: Context, stream: str, event: Event, viewer_id: int, filters: StreamFilters
) -> dict[str, Any] | None:
    """The Mastodon streaming message for a bus event, or None when this stream does not carry it (or the
    listener's filters hide its status)."""
    if event.kind == FILTERS_CHANGED:
        filters.forget()
        # As Mastodon: the user stream tells the client, with no payload; the other streams only re-read.
        return {"event": FILTERS_CHANGED, "payload": None} if stream == "user" else None
    if event.kind == "notification" and stream in ("user", "user:notification"):
        async with ctx.db.read() as session:
            notification = await session.get(Notification, event.payload.get("notification_id"))
            if notification is None:
                return None
            entities = await notifications_to_entities(
                session, ctx, [notification], viewer_id, filters=await filters.current(session)
            )
        return {"event": "notification", "payload": entities[0]} if entities else None
    if event.kind == "conversation" and stream == "direct":
        async with ctx.db.read() as session:
            conversation = await conversation_at(session, viewer_id, event.payload.get("status_id"))
            owner = await session.get(Account, viewer_id)
            if conversation is None or owner is None:
                return None  # removed, or moved on again since: a later event tells
            entities = await conversations_to_entities(session, ctx, [conversation], owner)
        return {"event": "conversation", "payload": entities[0]}
    if stream == "direct":
        return None  # Mastodon's direct stream carries conversations only
    if event.kind in ("update", "status.update") and stream != "user:notification":
        async with ctx.db.read() as session:
            # The public streams carry every public status: leave out the authors the viewer mutes or
            # blocks (the user stream's events come from fan-out, which skipped them already).
            wanted = select(Status).where(
                Status.id == event.payload.get("status_id"), ~hidden_author(viewer_id)
            )
            status = (await session.execute(wanted)).scalar_one_or_none()
            if status is None or status.deleted_at is not None:
                return None
            entities = await statuses_to_entities(
                session,
                ctx,
                [status],
                viewer_id,
                context="public" if stream.startswith("public") else "home",
                filters=await filters.current(session),
            )
        return {"event": event.kind, "payload": entities[0]} if entities else None
    if event.kind == "delete" and stream != "user:notification":
        return {"event": "delete", "payload": str(event.payload.get("status_id"))}
    return None


async def _next_event(queue: asyncio.Queue[Event], ended: asyncio.Event) -> Event | None:
    """The next event of `queue`, None after HEARTBEAT_SECONDS of silence; StreamEnded once `ended` is set."""
    getter = asyncio.ensure_future(queue.get())
    stopper = asyncio.ensure_future(ended.wait())
    try:
        await asyncio.wait((getter, stopper), timeout=HEARTBEAT_SECONDS, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
        getter.cancel()
    if ended.is_set():
        raise StreamEnded
    return getter.result() if getter.done() and not getter.cancelled() else None


class StreamEnded(Exception):
    """The stream's token may no longer act (revoked, password changed, account suspended)."""


async def _messages(
    ctx: Context, stream: str, account_id: int, queue: asyncio.Queue[Event], ended: asyncio.Event
) -> AsyncIterator[dict[str, Any] | None]:
    """Rendered messages from a subscribed queue; None every HEARTBEAT_SECONDS of silence; the iteration
    stops once `ended` is set (clientapi.stream_authority)."""
    filters = StreamFilters(ctx, account_id)
    while True:
        try:
            event = await _next_event(queue, ended)
        except StreamEnded:
            return
        if event is None:
            yield None
            continue
        try:
            message = await _render(ctx, stream, event, account_id, filters)
        except Exception:  # one unrenderable event must not end the stream
            logger.exception("streaming: cannot render %s", event)
            continue
        if message is not None:
            yield message


def _payload_text(payload: Any) -> str:
    """A message's payload as the stream writes it: JSON, a bare string (a deleted status's id), or
    `undefined` for none (what Mastodon's streaming server writes, and clients expect, for `filters_changed`)."""
    if payload is None:
        return "undefined"
    return payload if isinstance(payload, str) else orjson.dumps(payload).decode()


def _stream_from_path(path: str) -> str:
    tail = path.removeprefix("/api/v1/streaming").strip("/")
    return tail.replace("/", ":") if tail else "user"


async def server_sent_events(request: Request) -> Response:
    ctx: Context = request.state.ctx
    stream = _stream_from_path(request.url.path)
    account, token_id = await _authorise(ctx, request, stream)
    topics = await _topics(ctx, request, stream, account.id)

    async def body() -> AsyncIterator[bytes]:
        # Subscribed before the first byte: a client that has read it misses nothing published after.
        async with (
            token_watcher(ctx).watch(token_id) as ended,
            ctx.bus.subscribe(*topics) as queue,
        ):
            yield b":)\n\n"  # opens the stream at once, as Mastodon does
            async for message in _messages(ctx, stream, account.id, queue, ended):
                if message is None:
                    yield b":thump\n\n"
                    continue
                data = _payload_text(message["payload"])
                yield f"event: {message['event']}\ndata: {data}\n\n".encode()

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def websocket_stream(websocket: WebSocket) -> None:
    ctx: Context = websocket.state.ctx
    stream = websocket.query_params.get("stream", "user")
    try:
        account, token_id = await _authorise(ctx, websocket, stream)
        topics = await _topics(ctx, websocket, stream, account.id)
    except ApiError as error:
        await websocket.close(code=4000 + error.status_code, reason=error.message)
        return
    protocol = websocket.headers.get("sec-websocket-protocol")
    # Subscribed before the handshake completes: a connected client misses nothing published after.
    async with (
        token_watcher(ctx).watch(token_id) as ended,
        ctx.bus.subscribe(*topics) as queue,
    ):
        await websocket.accept(subprotocol=protocol.strip() if protocol else None)
        # Mastodon names a list stream ["list", "<id>"], the others by their parts ["public", "local"].
        label = [*stream.split(":"), *([topics[0].removeprefix("list:")] if stream == "list" else [])]
        sender = asyncio.create_task(_send_stream(ctx, websocket, stream, label, account.id, queue, ended))
        reader = asyncio.create_task(_read_until_disconnect(websocket))
        try:
            await asyncio.wait((sender, reader), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sender, reader):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
                    await task
        if ended.is_set():
            await websocket.close(code=4401, reason="The access token is no longer valid")


async def _read_until_disconnect(websocket: WebSocket) -> None:
    """Read client messages (subscribe / unsubscribe are not acted on) so that a disconnect is noticed."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await websocket.receive_text()


async def _send_stream(
    ctx: Context,
    websocket: WebSocket,
    stream: str,
    label: list[str],
    account_id: int,
    queue: asyncio.Queue[Event],
    ended: asyncio.Event,
) -> None:
    async for message in _messages(ctx, stream, account_id, queue, ended):
        if message is None:
            continue  # WebSocket pings are uvicorn's job
        frame: dict[str, Any] = {"stream": label, "event": message["event"]}
        if message["payload"] is not None:  # an event without a payload has no `payload` key (Mastodon)
            frame["payload"] = _payload_text(message["payload"])
        await websocket.send_text(orjson.dumps(frame).decode())


async def health(request: Request) -> Response:
    return PlainTextResponse("OK")


routes = [
    Route("/api/v1/streaming/health", health, methods=["GET"]),
    WebSocketRoute("/api/v1/streaming", websocket_stream),
    Route("/api/v1/streaming/user", server_sent_events, methods=["GET"]),
    Route("/api/v1/streaming/user/notification", server_sent_events, methods=["GET"]),
    Route("/api/v1/streaming/public", server_sent_events, methods=["GET"]),
    Route("/api/v1/streaming/public/local", server_sent_events, methods=["GET"]),
    Route("/api/v1/streaming/public/remote", server_sent_events, methods=["GET"]),
    Route("/api/v1/streaming/list", server_sent_events, methods=["GET"]),
    Route("/api/v1/streaming/direct", server_sent_events, methods=["GET"]),
]
