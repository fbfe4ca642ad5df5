"""Announcements: published and withdrawn by an admin (moderation actions, audited; the `plein announcement`
CLI), listed, dismissed and reacted to through Mastodon.py against a live instance."""

from __future__ import annotations

import asyncio
import json
import subprocess
from datetime import timedelta
from pathlib import Path

import websockets
from checked import call
from mastodon import Mastodon
from sqlalchemy import select

import moderation
from storage.context import Context
from storage.db import Database
from storage.models import AuditEntry
from storage.types import utcnow
from support.databases import sqlite_url
from support.instance import PleinProcess, RunningInstance, make_settings, run_plein, write_config
from support.oauth import bearer, make_token
from support.streams import next_message, websocket_url


async def test_announcements_through_mastodon_py(instance: RunningInstance) -> None:
    ctx = instance.ctx
    assert ctx is not None
    alice_token = await make_token(ctx, "alice")
    bob_token = await make_token(ctx, "bob")
    now = utcnow()
    first = await moderation.publish_announcement(
        ctx,
        moderation.AnnouncementRequest(
            "Maintenance tonight, ask @alice or see https://status.example.nl #onderhoud",
            starts_at=now + timedelta(hours=2),
            ends_at=now + timedelta(hours=5),
        ),
        actor="cli:admin",
    )
    ended = await moderation.publish_announcement(
        ctx,
        moderation.AnnouncementRequest(
            "Old news", starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=1)
        ),
        actor="cli:admin",
    )
    second = await moderation.publish_announcement(
        ctx, moderation.AnnouncementRequest("Welcome"), actor="cli:admin"
    )
    alice = Mastodon(api_base_url=instance.base_url, access_token=alice_token)

    listed = await asyncio.to_thread(alice.announcements)
    assert [str(item.id) for item in listed] == [str(second.id), str(first.id)]  # the ended one is gone
    assert ended.id not in [int(item.id) for item in listed]
    shown = next(item for item in listed if str(item.id) == str(first.id))
    assert shown.read is False
    assert [mention.username for mention in shown.mentions] == ["alice"]
    assert [tag["name"] for tag in shown.tags] == ["onderhoud"]
    assert 'href="https://status.example.nl"' in shown.content

    await asyncio.to_thread(alice.announcement_reaction_create, first.id, "👍")
    await asyncio.to_thread(alice.announcement_reaction_create, first.id, "👍")  # twice is once
    async with instance.client() as http:
        await call(http, "PUT", f"/api/v1/announcements/{first.id}/reactions/👍", headers=bearer(bob_token))
        await call(http, "PUT", f"/api/v1/announcements/{first.id}/reactions/🎉", headers=bearer(bob_token))
        as_bob = await call(http, "GET", "/api/v1/announcements", headers=bearer(bob_token))
        bad = await http.put(f"/api/v1/announcements/{first.id}/reactions/nope", headers=bearer(bob_token))
        missing = await http.post(f"/api/v1/announcements/{ended.id}/dismiss", headers=bearer(bob_token))
    assert bad.status_code == 422 and "emoji" in bad.json()["error"]
    assert missing.status_code == 404 and missing.json() == {"error": "Record not found"}
    reactions = {r["name"]: (r["count"], r["me"]) for r in as_bob[1]["reactions"]}
    assert reactions == {"👍": (2, True), "🎉": (1, True)}
    await asyncio.to_thread(alice.announcement_reaction_delete, first.id, "👍")
    listed = await asyncio.to_thread(alice.announcements)
    assert {r.name: (r.count, r.me) for r in listed[1].reactions} == {"👍": (1, False), "🎉": (1, False)}

    await asyncio.to_thread(alice.announcement_dismiss, first.id)
    assert [str(item.id) for item in await asyncio.to_thread(alice.announcements)] == [str(second.id)]
    async with instance.client() as http:
        everything = await call(
            http,
            "GET",
            "/api/v1/announcements",
            params={"with_dismissed": "true"},
            headers=bearer(alice_token),
        )
    assert [(item["id"], item["read"]) for item in everything] == [
        (str(second.id), False),
        (str(first.id), True),
    ]

    await moderation.withdraw_announcement(ctx, first.id, actor="cli:admin")
    async with instance.client() as http:
        after = await call(http, "GET", "/api/v1/announcements", headers=bearer(bob_token))
    assert [item["id"] for item in after] == [str(second.id)]
    async with ctx.db.read() as session:
        actions = list((await session.execute(select(AuditEntry.action))).scalars())
    assert actions.count("announcement.publish") == 3 and actions.count("announcement.withdraw") == 1


async def test_refused_announcements_publish_nothing(instance: RunningInstance) -> None:
    ctx = instance.ctx
    assert ctx is not None
    now = utcnow()
    for request in (
        moderation.AnnouncementRequest("   "),
        moderation.AnnouncementRequest("x" * 5001),
        moderation.AnnouncementRequest("Backwards", starts_at=now, ends_at=now - timedelta(hours=1)),
        moderation.AnnouncementRequest("All day of what?", all_day=True),
    ):
        try:
            await moderation.publish_announcement(ctx, request, actor="t")
        except moderation.ModerationError:
            pass
        else:
            raise AssertionError(f"published {request}")
    token = await make_token(ctx, "carol")
    async with instance.client() as http:
        assert await call(http, "GET", "/api/v1/announcements", headers=bearer(token)) == []
        assert (await http.get("/api/v1/announcements")).status_code == 401


def test_announcement_cli(tmp_path: Path) -> None:
    config = write_config(tmp_path)

    def plein(*args: str) -> subprocess.CompletedProcess[str]:
        return run_plein(config, *args)

    assert plein("migrate").returncode == 0
    added = plein(
        "announcement",
        "add",
        "Office closed",
        "--starts-at",
        "2026-12-24",
        "--ends-at",
        "2026-12-27",
        "--all-day",
    )
    assert added.returncode == 0, added.stderr
    announcement_id = added.stdout.split()[1]
    assert "Office closed" in plein("announcement", "list").stdout
    refused = plein("announcement", "add", "x", "--starts-at", "tomorrow")
    assert refused.returncode == 2 and "not an ISO 8601 time" in refused.stderr
    assert plein("announcement", "withdraw", announcement_id).returncode == 0
    again = plein("announcement", "withdraw", announcement_id)
    assert again.returncode == 2 and f"no announcement {announcement_id}" in again.stderr
    assert plein("announcement", "list").stdout == ""


async def test_a_cli_announcement_reaches_open_streams_on_sqlite(tmp_path: Path) -> None:
    """On SQLite there is no bus between processes: the CLI's announcement reaches the streams of a running
    `plein serve` through the job it queued, run by that server's own worker."""
    server = PleinProcess(
        make_settings(tmp_path / "data", database_url=sqlite_url(str(tmp_path / "data"))), tmp_path
    )
    await server.start()
    try:
        server.cli("account", "create", "reader", "--password", "a long enough test password")
        ctx = Context(settings=server.settings, db=Database(sqlite_url(str(tmp_path / "data"))))
        token = await make_token(ctx, "reader", "read")
        async with websockets.connect(
            websocket_url(server.listen_url, stream="user", access_token=token)
        ) as user:
            published = server.cli("announcement", "add", "Maintenance tonight")
            assert published.returncode == 0, published.stderr
            message = await asyncio.wait_for(next_message(user), timeout=30)
            assert message["event"] == "announcement"
            assert "Maintenance tonight" in json.loads(message["payload"])["content"]
            withdrawn = server.cli("announcement", "withdraw", published.stdout.split()[1])
            assert withdrawn.returncode == 0, withdrawn.stderr
            message = await asyncio.wait_for(next_message(user), timeout=30)
            assert message["event"] == "announcement.delete"
        await ctx.db.dispose()
    finally:
        server.stop()
