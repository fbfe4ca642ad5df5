"""`plein backup` while the server takes writes, and `plein restore` on a fresh machine (a new folder with no
config, or a new PostgreSQL database), on both backends: every status and row that existed when the backup
began comes back, every media file a restored row names is on disk and served, the restored instance
serves; a damaged archive is refused before anything is written, and an existing database is not overwritten."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import io
import tarfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select

from storage.context import Context
from storage.db import Database
from storage.media import media_root
from storage.models import Base, MediaAttachment, Status
from support.databases import postgres_database
from support.instance import PleinProcess, free_port, make_settings
from support.oauth import bearer, make_token


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


async def _counts(db: Database) -> dict[str, int]:
    async with db.read() as session:
        return {
            table.name: int(await session.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
        }


@contextlib.asynccontextmanager
async def _writing(process: PleinProcess, token: str) -> AsyncIterator[list[str]]:
    """Posts (every third with an image) through the API until the context ends; yields their ids."""
    posted: list[str] = []
    stop = asyncio.Event()

    async def write() -> None:
        async with httpx.AsyncClient(
            base_url=process.listen_url, headers=bearer(token), timeout=30
        ) as client:
            while not stop.is_set():
                media_ids = []
                if len(posted) % 3 == 0:
                    upload = await client.post(
                        "/api/v2/media", files={"file": ("a.png", _png(), "image/png")}
                    )
                    media_ids = [upload.json()["id"]]
                answer = await client.post(
                    "/api/v1/statuses", data={"status": f"post {len(posted)}", "media_ids[]": media_ids}
                )
                posted.append(answer.json()["id"])

    task = asyncio.create_task(write())
    try:
        yield posted
    finally:
        stop.set()
        await task


@pytest.fixture
async def second_database(database_url: str) -> AsyncIterator[str]:
    """Where the restore goes: a new SQLite file (empty string) or a new empty PostgreSQL database."""
    if database_url.startswith("sqlite"):
        yield ""
        return
    async with postgres_database() as url:
        yield url


async def test_backup_under_load_restores_on_a_fresh_machine(
    tmp_path: Path, database_url: str, second_database: str
) -> None:
    source_url = "" if database_url.startswith("sqlite") else database_url
    (tmp_path / "old").mkdir()
    settings = make_settings(tmp_path / "old" / "data", database_url=source_url)
    process = PleinProcess(settings, tmp_path / "old")
    await process.start()
    ctx = Context(settings=settings, db=Database(settings.database_url))
    archive = tmp_path / "backup.tar.gz"
    try:
        token = await make_token(ctx, "alice")
        async with _writing(process, token) as posted:
            while len(posted) < 12:
                await asyncio.sleep(0.05)
            before_ids = list(posted)
            before_counts = await _counts(ctx.db)
            result = await asyncio.to_thread(process.cli, "backup", "--out", str(archive))
            assert result.returncode == 0, result.stderr
            written_meanwhile = len(posted) - len(before_ids)
        after_counts = await _counts(ctx.db)
    finally:
        process.stop()
        await ctx.db.dispose()
    assert written_meanwhile > 0  # the server kept taking writes while the backup ran
    assert "media files" in result.stdout

    # A fresh machine: a new folder, no config (the backup's is written), its own data folder and database.
    fresh = tmp_path / "new"
    fresh.mkdir()
    config = fresh / "plein.toml"
    port = free_port()
    overrides = [
        "--set",
        f"server.data_dir={fresh / 'data'}",
        "--set",
        f"database.url={second_database}",
        "--set",
        f"server.listen_port={port}",
    ]
    restored = process_cli(config, *overrides, "restore", str(archive))
    assert restored.returncode == 0, restored.stderr
    assert config.exists() and "wrote" in restored.stdout
    restored_settings = make_settings(
        fresh / "data",
        port=settings.server.listen_port,
        database_url=second_database,
        **{"server.listen_port": port},
    )
    db = Database(restored_settings.database_url)
    try:
        counts = await _counts(db)
        for table in before_counts.keys() - {"worker_processes"}:  # heartbeats come and go with processes
            assert before_counts[table] <= counts[table] <= after_counts[table], table
        async with db.read() as session:
            ids = {str(i) for i in (await session.execute(select(Status.id))).scalars()}
            media_rows = (await session.execute(select(MediaAttachment))).scalars().all()
        assert set(before_ids) <= ids
        root = media_root(fresh / "data")
        assert media_rows and all((root / row.file_path).is_file() for row in media_rows if row.file_path)
    finally:
        await db.dispose()

    # The restored instance serves the statuses and their images.
    (fresh / "run").mkdir()
    server = PleinProcess(restored_settings, fresh / "run")
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.listen_url) as client:
            first = await client.get(f"/api/v1/statuses/{before_ids[0]}")
            assert first.status_code == 200 and first.json()["content"] == "<p>post 0</p>"
            image = httpx.URL(first.json()["media_attachments"][0]["url"]).path
            assert (await client.get(image)).status_code == 200
    finally:
        server.stop()

    # Restoring again over the data now there is refused.
    again = process_cli(config, *overrides, "restore", str(archive))
    assert again.returncode != 0 and "not empty" in again.stderr


def process_cli(config: Path, *args: str) -> object:
    """`plein --config CONFIG ARGS` (the config file need not exist yet)."""
    import subprocess

    from support.instance import PLEIN_BIN, _child_env

    return subprocess.run(
        [str(PLEIN_BIN), "--config", str(config), *args],
        capture_output=True,
        text=True,
        cwd=config.parent,
        env=_child_env(),
    )


def test_a_damaged_archive_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    good = tmp_path / "good"
    good.mkdir()
    settings = make_settings(good / "data")
    (good / "plein.toml").write_text(_toml(settings))
    assert process_cli(good / "plein.toml", "init").returncode == 0
    archive = tmp_path / "backup.tar.gz"
    assert process_cli(good / "plein.toml", "backup", "--out", str(archive)).returncode == 0
    # Alter one byte of the database member, keep the manifest.
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(archive, "r:gz") as source, tarfile.open(damaged, "w:gz") as target:
        for member in source.getmembers():
            body = source.extractfile(member).read() if member.isfile() else b""  # type: ignore[union-attr]
            if member.name == "database/plein.db":
                body = body[:-1] + bytes([body[-1] ^ 1])
            target.addfile(member, io.BytesIO(body))
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "plein.toml").write_text(_toml(make_settings(fresh / "data")))
    refused = process_cli(fresh / "plein.toml", "restore", str(damaged))
    assert refused.returncode != 0 and "checksum" in refused.stderr
    assert not (fresh / "data" / "plein.db").exists()
    assert gzip.open(archive).read(2)  # the good archive is intact


def _toml(settings: object) -> str:
    from plein.config import settings_to_toml

    return settings_to_toml(settings)  # type: ignore[arg-type]
