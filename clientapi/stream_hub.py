"""One hub per process between the event bus and the open streams.

The hub listens on the bus to the topics some open stream needs and, for each event, works out once which
subscriptions get it, renders it once per viewer that differs and offers the message to each connection's
bounded queue. The public and hashtag channels get one anonymous rendering (as Mastodon's) — a
multilingual status's copied once per language its listeners read —, their subscribers' mutes and blocks
checked in one query and each one's `public` filters applied to that rendering; home, list, notification, conversation and announcement events are rendered for their one viewer with its
filters (as Mastodon's). Every connection also hears its viewer's `filters:{account}` topic: it re-reads
its filters, and a `user` channel passes `filters_changed` on to the client.

A connection whose queue is full has fallen behind: it is dropped (`dropped` is set and it hears nothing
more) rather than slowing the hub or anyone else; the client reconnects and catches up from the REST API,
as after any disconnection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import orjson
from sqlalchemy import select

from clientapi.announcements import announcements_to_entities
from clientapi.entities.conversations import conversations_to_entities
from clientapi.entities.notifications import notifications_to_entities
from clientapi.entities.status_languages import ReaderVersions, accounts_languages
from clientapi.entities.status_readers import StatusReader, status_for_readers
from clientapi.entities.statuses import statuses_to_entities
from clientapi.stream_channels import Channel, Viewer
from clientapi.stream_filters import StreamFilters, public_filter_results
from storage.announcements import announcement_in_force
from storage.bus import Event
from storage.context import Context
from storage.conversations import conversation_at
from storage.filters import FILTERS_CHANGED, filters_topic
from storage.models import Account, Notification, Status
from storage.stream_events import PUBLIC_TOPIC
from storage.timelines import public_status_facts, viewers_hiding
from storage.types import utcnow

logger = logging.getLogger(__name__)

CONNECTION_QUEUE = 200  # messages waiting for one connection; more and it is dropped
HUB_QUEUE = 100_000  # bus events waiting for the hub itself (it only renders, it never waits on clients)
STATUS_EVENTS = frozenset({"update", "status.update", "delete"})
RENDERED_TOGETHER = frozenset({"update", "status.update"})  # one status's, for several readers
ANNOUNCEMENT_EVENTS = frozenset({"announcement", "announcement.reaction", "announcement.delete"})
# Every connection listens to its viewer's filter changes under this pseudo-channel, which carries nothing.
SYSTEM = Channel("system", (), ())


@dataclass(frozen=True)
class Message:
    """A streaming message: Mastodon's event name, its payload as text (None: no payload), the channel's
    label."""

    event: str
    payload: str | None
    stream: tuple[str, ...]


class Connection:
    """One open stream (an SSE response or a WebSocket), its subscriptions and its viewer's filters."""

    def __init__(self, viewer: Viewer, queue_size: int, filters: StreamFilters) -> None:
        self.viewer = viewer
        self.channels: dict[tuple[str, tuple[str, ...], str | None], Channel] = {}
        # None in the queue wakes its reader with nothing to send: a heartbeat is due, or the stream ends.
        self.outbox: asyncio.Queue[Message | str | None] = asyncio.Queue(queue_size)
        self.dropped = asyncio.Event()
        self.ended = False  # its token died, or it was dropped
        self.on_drop: Callable[[], object] | None = None  # aborts a write the client is not reading
        self.filters = filters  # shared by the viewer's connections

    def end(self) -> None:
        """End the stream: its reader wakes (at once when it waits on an empty queue) and stops."""
        self.ended = True
        if self.outbox.empty():
            self.outbox.put_nowait(None)

    def wake(self) -> None:
        """Wake a reader waiting on an empty queue (its heartbeat is due)."""
        if self.outbox.empty():
            self.outbox.put_nowait(None)

    def offer(self, item: Message | str) -> bool:
        """Queue `item` for the client; False (and `dropped` set) when the client has fallen behind."""
        if self.dropped.is_set():
            return False
        try:
            self.outbox.put_nowait(item)
        except asyncio.QueueFull:
            self.dropped.set()
            self.ended = True
            if self.on_drop is not None:
                self.on_drop()
            return False
        return True


Pairs = list[tuple[Connection, Channel]]
# Renders an event for one viewer (None: anonymously), given one of its connections: (event name, payload).
Render = Callable[[Event, int | None, Connection], Awaitable[tuple[str, str | None] | None]]


def _key(channel: Channel) -> tuple[str, tuple[str, ...], str | None]:
    return (channel.name, channel.topics, channel.tag)


class StreamHub:
    """Subscriptions of this process's open streams, fed from the bus by one dispatching task."""

    def __init__(self, ctx: Context, *, queue_size: int = CONNECTION_QUEUE) -> None:
        self._ctx = ctx
        self._queue_size = queue_size
        self._events: asyncio.Queue[Event] = asyncio.Queue(HUB_QUEUE)
        self._listeners: dict[str, dict[Connection, set[Channel]]] = {}
        self._filters: dict[
            int, tuple[StreamFilters, int]
        ] = {}  # viewer → its filters, connections using them
        self._task: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def connect(self, viewer: Viewer) -> AsyncIterator[Connection]:
        """A connection for `viewer`, unsubscribed from everything when the context ends."""
        filters, users = self._filters.get(viewer.account_id, (StreamFilters(viewer.account_id), 0))
        self._filters[viewer.account_id] = (filters, users + 1)
        connection = Connection(viewer, self._queue_size, filters)
        self._listen(connection, SYSTEM, filters_topic(viewer.account_id))
        try:
            yield connection
        finally:
            self._release(connection)
            filters, users = self._filters[viewer.account_id]
            if users > 1:
                self._filters[viewer.account_id] = (filters, users - 1)
            else:
                del self._filters[viewer.account_id]

    def subscribe(self, connection: Connection, channel: Channel) -> None:
        """Start sending `channel`'s events to `connection` (again: nothing changes)."""
        if connection.dropped.is_set() or _key(channel) in connection.channels:
            return
        connection.channels[_key(channel)] = channel
        for topic in channel.topics:
            self._listen(connection, channel, topic)

    def unsubscribe(self, connection: Connection, channel: Channel) -> None:
        """Stop sending `channel`'s events to `connection`."""
        known = connection.channels.pop(_key(channel), None)
        if known is not None:
            for topic in known.topics:
                self._unlisten(connection, known, topic)

    def subscriptions(self) -> int:
        """How many subscriptions are open, over all connections (for tests and the benchmark)."""
        return sum(len(connection.channels) for connection in self._connections())

    def connections(self) -> int:
        """How many connections are open (for tests and the benchmark)."""
        return len(self._connections())

    def _connections(self) -> set[Connection]:
        return {connection for listeners in self._listeners.values() for connection in listeners}

    def _listen(self, connection: Connection, channel: Channel, topic: str) -> None:
        listeners = self._listeners.get(topic)
        if listeners is None:
            listeners = self._listeners[topic] = {}
            self._ctx.bus.attach(topic, self._events)
        listeners.setdefault(connection, set()).add(channel)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="stream-hub")

    def _unlisten(self, connection: Connection, channel: Channel, topic: str) -> None:
        listeners = self._listeners.get(topic, {})
        channels = listeners.get(connection)
        if channels is not None:
            channels.discard(channel)
            if not channels:
                del listeners[connection]
        if not listeners and topic in self._listeners:
            del self._listeners[topic]
            self._ctx.bus.detach(topic, self._events)

    def _release(self, connection: Connection) -> None:
        for channel in list(connection.channels.values()):
            self.unsubscribe(connection, channel)
        self._unlisten(connection, SYSTEM, filters_topic(connection.viewer.account_id))

    async def _run(self) -> None:
        while True:
            events = [await self._events.get()]
            while not self._events.empty():  # what arrived meanwhile: one post's readers come together
                events.append(self._events.get_nowait())
            for run in _runs(events):
                try:
                    await self._dispatch(run)
                except Exception:  # one unrenderable event must not end every stream
                    logger.exception("streaming: cannot dispatch %s", run[0])

    async def _dispatch(self, run: list[Event]) -> None:
        """Send a run of events (one event, or one status's update for several home and list topics)."""
        event = run[0]
        pairs = self._pairs(run)
        if not pairs:
            return
        if event.kind == FILTERS_CHANGED:
            self._filters_changed(pairs)
        elif event.kind == "notification":
            wanted = [(connection, channel) for connection, channel in pairs if channel.notifications]
            await self._deliver(wanted, event, self._render_notification)
        elif event.kind == "conversation":
            wanted = [(connection, channel) for connection, channel in pairs if channel.name == "direct"]
            await self._deliver(wanted, event, self._render_conversation)
        elif event.kind in ANNOUNCEMENT_EVENTS:
            await self._deliver(pairs, event, self._render_announcement)
        elif event.kind in STATUS_EVENTS:
            wanted = [(connection, channel) for connection, channel in pairs if channel.carries_statuses]
            if event.topic == PUBLIC_TOPIC:
                await self._deliver_public(event, wanted)
            elif event.kind == "delete":
                for connection, channel in wanted:
                    self._offer(connection, Message("delete", str(event.payload["status_id"]), channel.label))
            else:
                await self._deliver_status(wanted, event)

    def _pairs(self, run: list[Event]) -> Pairs:
        """The (connection, channel) subscriptions to the topics of `run`."""
        return [
            (connection, channel)
            for event in run
            for connection, channels in self._listeners.get(event.topic, {}).items()
            for channel in channels
        ]

    def _filters_changed(self, pairs: Pairs) -> None:
        """The viewer's connections re-read their filters; its `user` channels tell the client (no payload)."""
        for connection, _ in pairs:
            connection.filters.forget()
            if any(channel.name == "user" for channel in connection.channels.values()):
                self._offer(connection, Message(FILTERS_CHANGED, None, ("user",)))

    async def _deliver(self, pairs: Pairs, event: Event, render: Render) -> None:
        """Render `event` once per distinct viewer (and the languages its stream asked for) and offer it to
        each subscription."""
        rendered: dict[tuple[int, tuple[str, ...]], tuple[str, str | None] | None] = {}
        for connection, channel in pairs:
            viewer = (connection.viewer.account_id, connection.viewer.accepted_languages)
            if viewer not in rendered:
                rendered[viewer] = await render(event, viewer[0], connection)
            message = rendered[viewer]
            if message is not None:
                self._offer(connection, Message(message[0], message[1], channel.label))

    async def _deliver_public(self, event: Event, pairs: Pairs) -> None:
        """A public status to the public and hashtag subscriptions it belongs on, rendered once, without the
                viewers who hide its author, each viewer's `public` filters applied. A deletion goes to every public
                subscription: the status can no longer be read. A multilingual status is shown in each listener's language
        (its account's settings, then its stream's Accept-Language), rendered once per language chosen."""
        status_id = int(event.payload["status_id"])
        if event.kind == "delete":
            for connection, channel in pairs:
                self._offer(connection, Message("delete", str(status_id), channel.label))
            return
        async with self._ctx.db.read() as session:
            facts = await public_status_facts(session, status_id)
            if facts is None:
                return
            pairs = [(connection, channel) for connection, channel in pairs if channel.carries(facts)]
            hiding = await viewers_hiding(session, status_id, {c.viewer.account_id for c, _ in pairs})
            pairs = [
                (connection, channel)
                for connection, channel in pairs
                if connection.viewer.account_id not in hiding
            ]
            status = await session.get(Status, status_id)
            entities = await statuses_to_entities(session, self._ctx, [status], None) if status else []
            if not entities:
                return
            versions = await ReaderVersions.load(session, entities[0])
            readers = (
                await accounts_languages(session, {c.viewer.account_id for c, _ in pairs})
                if versions.multilingual
                else {}
            )
            texts: dict[int, str] = {}  # each version's payload, by the version's identity
            for connection, channel in pairs:
                viewer = connection.viewer
                entity = versions.for_reader(
                    [*readers.get(viewer.account_id, ()), *viewer.accepted_languages]
                )
                payload = texts.get(id(entity)) or texts.setdefault(id(entity), _text(entity))
                if viewer.account_id != status.account_id:  # one's own status is never filtered
                    filters = await connection.filters.current(session)
                    results, hidden = public_filter_results(filters, status_id, entity)
                    if hidden:
                        continue
                    if results:
                        payload = _text({**entity, "filtered": results})
                self._offer(connection, Message(event.kind, payload, channel.label))

    def _offer(self, connection: Connection, message: Message) -> None:
        if connection.dropped.is_set():
            return
        if not connection.offer(message):
            logger.warning("streaming: account %s fell behind; stream dropped", connection.viewer.account_id)
            self._release(connection)

    async def _deliver_status(self, pairs: Pairs, event: Event) -> None:
        """A status (new or edited) to home and list subscriptions: rendered for all their readers at once
        (`clientapi.entities.status_readers`), once per distinct viewer and languages asked for."""
        async with self._ctx.db.read() as session:
            status = await session.scalar(select(Status).where(Status.id == int(event.payload["status_id"])))
            if status is None or status.deleted_at is not None:
                return
            readers: dict[tuple[int, tuple[str, ...]], StatusReader] = {}
            for connection, _ in pairs:
                viewer = connection.viewer
                key = (viewer.account_id, viewer.accepted_languages)
                if key not in readers:
                    filters = await connection.filters.current(session)
                    readers[key] = StatusReader(viewer.account_id, viewer.accepted_languages, filters)
            entities = await status_for_readers(session, self._ctx, status, list(readers.values()))
        texts = {
            key: _text(entity) for key, entity in zip(readers, entities, strict=True) if entity is not None
        }
        for connection, channel in pairs:
            text = texts.get((connection.viewer.account_id, connection.viewer.accepted_languages))
            if text is not None:
                self._offer(connection, Message(event.kind, text, channel.label))

    async def _render_notification(
        self, event: Event, viewer_id: int | None, connection: Connection
    ) -> tuple[str, str | None] | None:
        async with self._ctx.db.read() as session:
            notification = await session.get(Notification, event.payload.get("notification_id"))
            if notification is None or notification.account_id != viewer_id:
                return None
            filters = await connection.filters.current(session)
            entities = await notifications_to_entities(
                session, self._ctx, [notification], viewer_id, filters=filters
            )
        return ("notification", _text(entities[0])) if entities else None

    async def _render_conversation(
        self, event: Event, viewer_id: int | None, connection: Connection
    ) -> tuple[str, str | None] | None:
        async with self._ctx.db.read() as session:
            conversation = await conversation_at(
                session, connection.viewer.account_id, event.payload["status_id"]
            )
            owner = await session.get(Account, connection.viewer.account_id)
            if conversation is None or owner is None:
                return None  # removed, or moved on again since: a later event tells
            entities = await conversations_to_entities(session, self._ctx, [conversation], owner)
        return ("conversation", _text(entities[0])) if entities else None

    async def _render_announcement(
        self, event: Event, viewer_id: int | None, connection: Connection
    ) -> tuple[str, str | None] | None:
        announcement_id = int(event.payload["announcement_id"])
        if event.kind == "announcement.delete":
            return (event.kind, str(announcement_id))
        if event.kind == "announcement.reaction":
            # A custom emoji's reaction carries its images, as in Mastodon's stream.
            reaction = {
                key: event.payload[key]
                for key in ("name", "count", "url", "static_url")
                if key in event.payload
            }
            return (event.kind, _text({**reaction, "announcement_id": str(announcement_id)}))
        assert viewer_id is not None
        async with self._ctx.db.read() as session:
            announcement = await announcement_in_force(session, announcement_id, now=utcnow())
            if announcement is None:  # not yet started, or withdrawn since
                return None
            entities = await announcements_to_entities(session, self._ctx, [announcement], viewer_id)
        return (event.kind, _text(entities[0]))


def _runs(events: list[Event]) -> list[list[Event]]:
    """`events` in order, each alone but for consecutive updates of one status to home and list topics (a
    post's readers, published together), which go as one run. Events of one topic keep their order."""
    runs: list[list[Event]] = []
    for event in events:
        last = runs[-1][-1] if runs else None
        if (
            last is not None
            and event.kind in RENDERED_TOGETHER
            and event.kind == last.kind
            and event.payload == last.payload
            and PUBLIC_TOPIC not in (event.topic, last.topic)
        ):
            runs[-1].append(event)
        else:
            runs.append([event])
    return runs


def _text(entity: object) -> str:
    return orjson.dumps(entity).decode()


def stream_hub(ctx: Context) -> StreamHub:
    """This process's `StreamHub` (made on first use)."""
    hub = ctx.caches.get("clientapi.stream_hub")
    if hub is None:
        hub = ctx.caches["clientapi.stream_hub"] = StreamHub(ctx)
    return hub  # type: ignore[no-any-return]
