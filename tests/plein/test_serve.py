"""`plein serve` as a newcomer runs it: a real process on a real port, SQLite in the data folder."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from support.instance import PleinProcess, make_settings


async def test_serve_from_empty_data_folder(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    plein = PleinProcess(settings, tmp_path)
    await plein.start()
    try:
        assert "account create NAME --role admin" in plein.log()  # the first-admin hint
        created = plein.cli("account", "create", "alice", "--role", "admin")
        assert "password: " in created.stdout
        async with httpx.AsyncClient(base_url=plein.base_url) as client:
            actor = await client.get("/users/alice", headers={"Accept": "application/activity+json"})
            assert actor.status_code == 200 and actor.json()["id"] == f"{plein.base_url}/users/alice"
            finger = await client.get(
                "/.well-known/webfinger", params={"resource": f"acct:alice@{settings.domain}"}
            )
            self_links = [link for link in finger.json()["links"] if link["rel"] == "self"]
            assert self_links == [
                {"rel": "self", "type": "application/activity+json", "href": f"{plein.base_url}/users/alice"}
            ]
            page = await client.get("/users/alice", headers={"Accept": "text/html"}, follow_redirects=True)
            assert "h-card" in page.text
        assert (tmp_path / "data" / "plein.db").exists()
        wal_mode = (tmp_path / "data" / "plein.db-wal").exists() or (
            tmp_path / "data" / "plein.db-shm"
        ).exists()
        assert wal_mode
    finally:
        plein.stop()


async def test_idle_connection_outlives_a_pause_between_requests(tmp_path: Path) -> None:
    """An idle keep-alive connection stays open for `server.keepalive_seconds` (75 s), not uvicorn's 5 s: a
    client or proxy that reuses it after a pause must not meet a connection the server is closing (the
    request then fails without an answer, as Mastodon.py did after a 6 s pause in a test)."""
    settings = make_settings(tmp_path / "data")
    plein = PleinProcess(settings, tmp_path)
    await plein.start()
    try:
        reader, writer = await asyncio.open_connection(
            settings.server.listen_host, settings.server.listen_port
        )
        request = f"GET /livez HTTP/1.1\r\nHost: {settings.domain}\r\n\r\n".encode()
        for _ in range(2):
            writer.write(request)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200"), head
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
            await asyncio.sleep(6)  # longer than uvicorn's default keep-alive
        writer.close()
    finally:
        plein.stop()
