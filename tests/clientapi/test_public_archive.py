"""The public-records archive (`plein archive export|verify` and the daily package), on both backends: a
package holds every revision of an edited post, a deleted post with its deletion and its image (gone from
the public media path), boosts and profile changes, the replies and mentions received, an HTML index; it is a
valid BagIt bag an independent checker accepts, a changed byte is found, and the same period exported twice
gives the same bytes. The daily job packs a day once, whatever crashed before."""

from __future__ import annotations

import io
import json
import subprocess
from datetime import date, timedelta
from pathlib import Path

import httpx
from checked import call
from PIL import Image
from sqlalchemy import select

from archive.bag import verify_bag
from archive.daily import ARCHIVE_QUEUE, archive_handler, days_to_pack, ensure_daily_archive, pack_day
from archive.public_records import export_public_records, period_of
from plein.config import settings_to_toml
from plein.jobs import job_handlers
from storage.models import Job
from storage.queue import ClaimedJob
from storage.types import utcnow
from storage.worker import drain
from support.instance import PLEIN_BIN, make_settings, serve_in_process
from support.oauth import bearer, make_token


def _png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


async def _publish(instance, tokens: dict[str, str]) -> dict[str, dict]:  # noqa: ANN001 - a RunningInstance
    """Alice posts (one with an image, then edited), deletes one with an image, boosts, changes her
    profile; Bob replies to her and mentions her."""
    made: dict[str, dict] = {}
    async with instance.client(headers=bearer(tokens["alice"])) as a:
        media = await call(
            a,
            "POST",
            "/api/v2/media",
            files={"file": ("k.png", _png((9, 99, 199)), "image/png")},
            data={"description": "The canal at dawn"},
        )
        made["kept"] = await call(
            a, "POST", "/api/v1/statuses", data={"status": "first words", "media_ids[]": media["id"]}
        )
        await call(
            a,
            "PUT",
            f"/api/v1/statuses/{made['kept']['id']}",
            data={"status": "second words", "media_ids[]": media["id"]},
        )
        doomed_media = await call(
            a,
            "POST",
            "/api/v2/media",
            files={"file": ("d.png", _png((200, 9, 9)), "image/png")},
            data={"description": "A regretted chart"},
        )
        made["gone"] = await call(
            a,
            "POST",
            "/api/v1/statuses",
            data={"status": "regretted words", "media_ids[]": doomed_media["id"]},
        )
        await call(a, "DELETE", f"/api/v1/statuses/{made['gone']['id']}")
        await call(
            a, "PATCH", "/api/v1/accounts/update_credentials", data={"display_name": "Alice of the Ministry"}
        )
    async with instance.client(headers=bearer(tokens["bob"])) as b:
        made["bobs"] = await call(b, "POST", "/api/v1/statuses", data={"status": "bob's own"})
        made["reply"] = await call(
            b,
            "POST",
            "/api/v1/statuses",
            data={"status": "@alice a reply", "in_reply_to_id": made["kept"]["id"]},
        )
        made["mention"] = await call(b, "POST", "/api/v1/statuses", data={"status": "hello @alice"})
    async with instance.client(headers=bearer(tokens["alice"])) as a:
        await call(a, "POST", f"/api/v1/statuses/{made['bobs']['id']}/reblog")
    return made


async def test_a_package_keeps_revisions_deletions_and_what_was_received(
    tmp_path: Path, database_url: str
) -> None:
    settings = make_settings(tmp_path / "data", database_url=database_url)
    async with serve_in_process(settings) as instance:
        ctx = instance.ctx
        assert ctx is not None
        tokens = {name: await make_token(ctx, name) for name in ("alice", "bob")}
        made = await _publish(instance, tokens)
        await drain(ctx.db, job_handlers(ctx))  # the deleted post's image leaves the public folder
        deleted_image = made["gone"]["media_attachments"][0]["url"]
        async with httpx.AsyncClient() as plain:
            assert (await plain.get(deleted_image)).status_code == 404
        today = utcnow().date()
        period = period_of(today - timedelta(days=1), today)
        first, second = tmp_path / "first", tmp_path / "second"
        summary = await export_public_records(ctx, first, username="alice", period=period)
        await export_public_records(ctx, second, username="alice", period=period)

    assert _files(first) == _files(second), "the same period gives the same bytes"
    assert verify_bag(first) == []
    assert summary.accounts == 1 and summary.media_files == 2 and summary.received == 2

    activities = _lines(first / "data/alice/activities.jsonl")
    kinds = [
        (item["type"], item["object"]["type"] if isinstance(item["object"], dict) else "")
        for item in activities
    ]
    assert kinds == [
        ("Create", "Note"),
        ("Update", "Note"),
        ("Create", "Note"),
        ("Delete", "Tombstone"),
        ("Update", "Person"),
        ("Announce", ""),
    ]
    assert activities[0]["object"]["content"] == "<p>first words</p>"
    assert activities[1]["object"]["content"] == "<p>second words</p>"
    assert activities[2]["object"]["content"] == "<p>regretted words</p>", (
        "a deleted post stays in the archive"
    )
    assert activities[3]["object"]["id"] == made["gone"]["uri"]
    assert activities[4]["object"]["name"] == "Alice of the Ministry"
    assert activities[5]["object"] == made["bobs"]["uri"]

    received = _lines(first / "data/alice/received.jsonl")
    assert [note["id"] for note in received] == [made["reply"]["uri"], made["mention"]["uri"]]
    assert received[0]["inReplyTo"] == made["kept"]["uri"]

    media = _lines(first / "data/alice/media.jsonl")
    assert sorted(item["name"] for item in media) == ["A regretted chart", "The canal at dawn"]
    for item in media:
        assert (first / "data/alice" / item["file"]).read_bytes()[:4] in (
            b"\x89PNG",
            b"\xff\xd8\xff\xe0",
            b"RIFF",
        )
    manifest = (first / "manifest-sha256.txt").read_text()
    assert all(f"data/alice/{item['file']}" in manifest for item in media)

    index = (first / "data/index.html").read_text()
    assert "regretted words" in index and "The canal at dawn" in index and "a reply" in index
    assert "<script" not in index

    # A changed byte anywhere in the payload is found by an independent BagIt checker.
    target = first / "data/alice" / media[0]["file"]
    target.write_bytes(target.read_bytes()[:-1] + bytes([target.read_bytes()[-1] ^ 1]))
    problems = verify_bag(first)
    assert problems and any(media[0]["file"] in problem for problem in problems)


async def test_the_cli_exports_and_verifies_and_refuses_bad_requests(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    config = tmp_path / "plein.toml"
    config.write_text(settings_to_toml(settings))
    async with serve_in_process(settings) as instance:
        assert instance.ctx is not None
        token = await make_token(instance.ctx, "alice")
        async with instance.client(headers=bearer(token)) as a:
            await call(a, "POST", "/api/v1/statuses", data={"status": "on the record"})

    def plein(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(PLEIN_BIN), "--config", str(config), *args], capture_output=True, text=True
        )

    today = date.today().isoformat()
    out = tmp_path / "package"
    done = plein("archive", "export", "--since", today, "--until", today, "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "1 account(s), 1 activities" in done.stdout
    checked = plein("archive", "verify", str(out))
    assert checked.returncode == 0 and "every checksum matches" in checked.stdout
    record = out / "data/alice/activities.jsonl"
    record.write_bytes(record.read_bytes().replace(b"on the record", b"off the recor"))  # same size
    tampered = plein("archive", "verify", str(out))
    assert tampered.returncode == 1 and "activities.jsonl" in tampered.stdout

    unknown = plein("archive", "export", "--account", "nobody", "--out", str(tmp_path / "n"))
    assert unknown.returncode == 2 and "nobody" in unknown.stderr and not (tmp_path / "n").exists()
    bad_day = plein("archive", "export", "--since", "yesterday", "--out", str(tmp_path / "b"))
    assert bad_day.returncode == 2 and "YYYY-MM-DD" in bad_day.stderr
    backwards = plein(
        "archive", "export", "--since", today, "--until", "2020-01-01", "--out", str(tmp_path / "c")
    )
    assert backwards.returncode == 2 and "before" in backwards.stderr
    in_use = plein("archive", "export", "--out", str(out))
    assert in_use.returncode == 2 and "not empty" in in_use.stderr


async def test_the_daily_job_packs_each_day_once_and_catches_up(tmp_path: Path) -> None:
    folder = tmp_path / "records"
    settings = make_settings(tmp_path / "data", **{"archive.folder": str(folder)})
    async with serve_in_process(settings) as instance:
        ctx = instance.ctx
        assert ctx is not None
        token = await make_token(ctx, "alice")
        await make_token(ctx, "quiet")
        async with instance.client(headers=bearer(token)) as a:
            await call(a, "POST", "/api/v1/statuses", data={"status": "today's words"})
        today = utcnow().date()

        assert await ensure_daily_archive(ctx) == 1  # yesterday (and today's, due tomorrow)
        async with ctx.db.read() as session:
            queued = sorted(
                (job.payload["day"], job.next_try_at.date())
                for job in (await session.execute(select(Job).where(Job.queue == ARCHIVE_QUEUE))).scalars()
            )
        assert queued == [
            ((today - timedelta(days=1)).isoformat(), today),
            (today.isoformat(), today + timedelta(days=1)),
        ]

        (folder / f".partial-{today.isoformat()}").mkdir(parents=True)  # a crashed earlier try
        (folder / f".partial-{today.isoformat()}" / "junk").write_text("half")
        handle = archive_handler(ctx)
        await handle(
            ClaimedJob(
                id=1,
                queue=ARCHIVE_QUEUE,
                payload={"day": today.isoformat()},
                tries=1,
                host=None,
                created_at=utcnow(),
            )
        )
        package = folder / today.isoformat()
        assert verify_bag(package) == []
        assert (package / "data/alice/activities.jsonl").exists()
        assert not (package / "data/quiet").exists(), "accounts with nothing that day are left out"
        assert not (folder / f".partial-{today.isoformat()}").exists()
        before = _files(package)
        assert await pack_day(ctx, folder, today) is False
        assert _files(package) == before
        async with ctx.db.read() as session:
            days = {
                job.payload["day"]
                for job in (await session.execute(select(Job).where(Job.queue == ARCHIVE_QUEUE))).scalars()
            }
        assert (today + timedelta(days=1)).isoformat() in days, "the chain goes on"

    assert days_to_pack(folder, today + timedelta(days=3)) == [today + timedelta(days=n) for n in (1, 2)]
