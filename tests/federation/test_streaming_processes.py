"""Streaming across processes on PostgreSQL: two `plein serve --no-workers` processes (A and B) and one
`plein worker` share one database. A client streaming from A hears, exactly once, a post made through B
and a remote post received through B (its inbox job run by the worker process), and an announcement
published by the `plein` CLI — events that travel between processes only through LISTEN/NOTIFY."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from storage.context import Context
from storage.db import Database
from support.databases import postgres_database
from support.inbox_remote import FakeRemote, deliver, new_rsa_pem
from support.instance import PleinProcess, free_port, make_settings
from support.oauth import bearer, make_token
from support.streams import next_message, websocket_url


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    async with postgres_database() as url:
        yield url


def _processes(tmp_path: Path, database_url: str) -> tuple[PleinProcess, PleinProcess, PleinProcess]:
    """A and B serve one instance (B listens on the base URL's port, A on another); one worker."""
    port = free_port()
    data = tmp_path / "data"
    made = []
    for name, listen_port, command, args in (
        ("a", free_port(), "serve", ("--no-workers",)),
        ("b", port, "serve", ("--no-workers",)),
        ("worker", port, "worker", ()),
    ):
        folder = tmp_path / name
        folder.mkdir()
        settings = make_settings(
            data, port=port, database_url=database_url, **{"server.listen_port": listen_port}
        )
        made.append(PleinProcess(settings, folder, extra_args=args, command=command))
    return made[0], made[1], made[2]


async def _until(socket: Any, wanted: str) -> list[dict[str, Any]]:
    """Messages up to and including the first `update` on the `public` channel whose content has `wanted`."""
    seen = []
    while True:
        message = await next_message(socket)
        seen.append(message)
        if message.get("stream") == ["public"] and wanted in json.loads(message.get("payload", "{}")).get(
            "content", ""
        ):
            return seen


TEXTS = ("posted through B", "from afar", "the marker")


def _key(message: dict[str, Any]) -> tuple[str, str, str]:
    """(channel, event, which of TEXTS the status holds)."""
    payload = json.loads(message["payload"])
    content = (payload.get("status") or {} if message["event"] == "notification" else payload)["content"]
    return (message["stream"][0], message["event"], next(text for text in TEXTS if text in content))


async def test_a_stream_on_one_process_hears_what_others_wrote(tmp_path: Path, postgres_url: str) -> None:
    a, b, worker = _processes(tmp_path, postgres_url)
    a.cli("migrate")
    ctx = Context(settings=a.settings, db=Database(postgres_url))
    remote = FakeRemote()
    ann = remote.add_actor("ann", new_rsa_pem())
    try:
        for process in (a, b, worker):
            await process.start()
        reader_token = await make_token(ctx, "reader", "read write follow")
        author_token = await make_token(ctx, "author", "read write")
        async with remote.running(), httpx.AsyncClient(timeout=30) as http:
            author = (await http.get(f"{b.listen_url}/api/v1/accounts/lookup?acct=author")).json()
            followed = await http.post(
                f"{b.listen_url}/api/v1/accounts/{author['id']}/follow", headers=bearer(reader_token)
            )
            assert followed.status_code == 200, followed.text
            async with websockets.connect(websocket_url(a.listen_url, access_token=reader_token)) as socket:
                for stream in ("user", "public"):
                    await socket.send(json.dumps({"type": "subscribe", "stream": stream}))
                await socket.send(json.dumps({"type": "subscribe", "stream": "nonsense"}))
                assert (await next_message(socket))["error"] == "Unknown stream type"  # both are in

                posted = await http.post(
                    f"{b.listen_url}/api/v1/statuses",
                    data={"status": "posted through B"},
                    headers=bearer(author_token),
                )
                assert posted.status_code == 200, posted.text
                heard = await _until(socket, "posted through B")

                note = ann.note(
                    "<p>from afar, @reader</p>",
                    cc=[f"{ann.uri}/followers", f"{b.base_url}/users/reader"],
                    tag=[{"type": "Mention", "href": f"{b.base_url}/users/reader", "name": "@reader"}],
                )
                received = await deliver(http, f"{b.base_url}/inbox", ann.activity("Create", note), ann)
                assert received.status_code == 202, received.text
                heard += await _until(socket, "from afar")

                published = a.cli("announcement", "add", "Maintenance tonight")
                assert published.returncode == 0, published.stderr
                # Its event is published by the worker process's job: wait for it, then for the marker,
                # so a second copy would be heard before the marker.
                while (message := await next_message(socket)).get("event") != "announcement":
                    heard.append(message)
                heard.append(message)
                await http.post(
                    f"{b.listen_url}/api/v1/statuses",
                    data={"status": "the marker"},
                    headers=bearer(author_token),
                )
                heard += await _until(socket, "the marker")
    finally:
        for process in (a, b, worker):
            process.stop()
        await ctx.db.dispose()
    counted = Counter(_key(message) for message in heard if message["event"] != "announcement")
    posted_html, remote_html = "posted through B", "from afar"
    assert counted[("user", "update", posted_html)] == 1
    assert counted[("public", "update", posted_html)] == 1
    assert counted[("public", "update", remote_html)] == 1
    assert counted[("user", "update", remote_html)] == 1  # the mention put it in the reader's home
    assert counted[("user", "notification", remote_html)] == 1
    assert max(counted.values()) == 1  # nothing heard twice
    announcements = [message for message in heard if message["event"] == "announcement"]
    assert (
        len(announcements) == 1
        and "Maintenance tonight" in json.loads(announcements[0]["payload"])["content"]
    )
