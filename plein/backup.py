"""`plein backup` and `plein restore`: one archive holding the database, the media files and the config.

The archive is a gzipped tar: `config/plein.toml`, `database/plein.db` (SQLite, copied with SQLite's online
backup API: a consistent snapshot while the server keeps writing) or `database/plein.pgdump` (`pg_dump
--format=custom`, one snapshot transaction), `media/…`, and last `manifest.json` with the SHA-256 of every
member. The database is taken before the media, so every file a backed-up row names is already on disk when
the media are copied (a file uploaded meanwhile is an extra, harmless one).

A restore verifies every checksum before it writes anything, refuses to overwrite an existing database or
media folder unless forced, extracts nothing outside the data folder, and leaves the database migrated to
this version.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from storage.media import media_root
from storage.settings import Settings
from storage.software import software_version

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database/plein.db"
POSTGRES_MEMBER = "database/plein.pgdump"
CONFIG_MEMBER = "config/plein.toml"


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why."""


@dataclass(frozen=True)
class Summary:
    database: str  # "sqlite" | "postgresql"
    files: int
    bytes: int


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _libpq(settings: Settings) -> tuple[str, dict[str, str]]:
    """The database URL as pg_dump and pg_restore take it (no SQLAlchemy driver suffix, no password: that
    goes in the environment, never on a command line other users can read)."""
    url = make_url(settings.database_url)
    env = {"PGPASSWORD": url.password} if url.password else {}
    plain = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return plain, env


def _dump_database(settings: Settings, folder: Path) -> tuple[str, Path]:
    if settings.database_url.startswith("sqlite"):
        source_path = make_url(settings.database_url).database or ""
        target = folder / "plein.db"
        source = sqlite3.connect(source_path)  # only read: the backup API copies pages
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)  # one step: a consistent snapshot, writers carry on (WAL)
        finally:
            copy.close()
            source.close()
        return SQLITE_MEMBER, target
    target = folder / "plein.pgdump"
    url, env = _libpq(settings)
    # A domain of a several-domain install lives in its own schema of the shared database: its backup holds
    # that schema only, as its media folder is that domain's only.
    only_schema = [f"--schema={settings.database.schema}"] if settings.database.schema else []
    _run(
        [
            "pg_dump",
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            *only_schema,
            f"--file={target}",
            f"--dbname={url}",
        ],
        env,
    )
    return POSTGRES_MEMBER, target


def _run(command: list[str], env: dict[str, str]) -> None:
    tool = shutil.which(command[0])
    if tool is None:
        raise BackupError(f"{command[0]} is not installed (Debian: postgresql-client)")
    result = subprocess.run([tool, *command[1:]], capture_output=True, text=True, env={**os.environ, **env})
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()[:500]}")


def make_backup(settings: Settings, config_path: Path | None, out: Path) -> Summary:
    """Write the backup archive to `out` (atomically: a partial archive never has the final name)."""
    hashes: dict[str, str] = {}
    files = size = 0
    partial = out.with_name(f".{out.name}.partial")
    with tempfile.TemporaryDirectory(prefix="plein-backup-") as scratch:
        member, dump = _dump_database(settings, Path(scratch))
        with tarfile.open(partial, "w:gz") as archive:
            if config_path is not None and config_path.exists():
                hashes[CONFIG_MEMBER] = _sha256(config_path)
                archive.add(config_path, CONFIG_MEMBER, recursive=False)
            hashes[member] = _sha256(dump)
            archive.add(dump, member, recursive=False)
            size += dump.stat().st_size
            root = media_root(settings.server.data_dir)
            for path in sorted(root.rglob("*")) if root.is_dir() else []:
                if path.is_file() and not path.is_symlink():
                    name = f"media/{path.relative_to(root).as_posix()}"
                    hashes[name] = _sha256(path)
                    archive.add(path, name, recursive=False)
                    files += 1
                    size += path.stat().st_size
            manifest = {
                "format": FORMAT,
                "created_at": datetime.now(UTC).isoformat(),
                "plein_version": software_version(),
                "instance": settings.domain,
                "database": "sqlite" if member == SQLITE_MEMBER else "postgresql",
                "sha256": hashes,
            }
            body = json.dumps(manifest, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(body)
            info.mtime = int(datetime.now(UTC).timestamp())
            archive.addfile(info, io.BytesIO(body))
    os.replace(partial, out)
    return Summary(manifest["database"], files, size)


def read_manifest(archive_path: Path) -> dict[str, Any]:
    with tarfile.open(archive_path, "r:gz") as archive:
        try:
            member = archive.getmember(MANIFEST)
        except KeyError:
            raise BackupError(f"{archive_path} is not a Plein backup (no {MANIFEST})") from None
        handle = archive.extractfile(member)
        assert handle is not None
        manifest: dict[str, Any] = json.load(handle)
    if manifest.get("format") != FORMAT:
        raise BackupError(f"backup format {manifest.get('format')!r} is not one this version reads")
    return manifest


def extract_config(archive_path: Path, target: Path) -> bool:
    """Write the backed-up config to `target` (owner-only), if the backup holds one."""
    manifest = read_manifest(archive_path)
    if CONFIG_MEMBER not in manifest["sha256"]:
        return False
    with tarfile.open(archive_path, "r:gz") as archive:
        handle = archive.extractfile(CONFIG_MEMBER)
        assert handle is not None
        body = handle.read()
    if hashlib.sha256(body).hexdigest() != manifest["sha256"][CONFIG_MEMBER]:
        raise BackupError(f"{CONFIG_MEMBER} does not match its checksum")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(body)
    target.chmod(0o600)
    return True


@contextlib.contextmanager
def _verified(archive_path: Path, staging: Path) -> Iterator[dict[str, Any]]:
    """Extract the archive into `staging` (regular files only, nothing outside it) and check every member
    against the manifest: none missing, none extra, none altered."""
    manifest = read_manifest(archive_path)
    expected: dict[str, str] = manifest["sha256"]
    with tarfile.open(archive_path, "r:gz") as archive:
        names = [member.name for member in archive.getmembers() if member.name != MANIFEST]
        if sorted(names) != sorted(expected):
            raise BackupError("the archive's members do not match its manifest")
        archive.extractall(
            staging, members=[m for m in archive.getmembers() if m.name != MANIFEST], filter="data"
        )
    for name, digest in expected.items():
        if _sha256(staging / name) != digest:
            raise BackupError(f"{name} does not match its checksum: the backup is damaged")
    yield manifest


def _database_is_empty(settings: Settings) -> bool:
    if settings.database_url.startswith("sqlite"):
        path = Path(make_url(settings.database_url).database or "")
        return not path.exists() or path.stat().st_size == 0
    import asyncpg  # only PostgreSQL restores need it

    url, env = _libpq(settings)

    schema = settings.database.schema or "public"

    async def tables() -> int:
        connection = await asyncpg.connect(url, password=env.get("PGPASSWORD"))
        try:
            return int(
                await connection.fetchval(
                    "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1", schema
                )
            )
        finally:
            await connection.close()

    return asyncio.run(tables()) == 0


def restore_backup(settings: Settings, archive_path: Path, *, force: bool = False) -> Summary:
    """Put the archive's database and media in place for `settings`; migrating is the caller's next step."""
    data_dir = settings.server.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    media = media_root(data_dir)
    sqlite_target = settings.database_url.startswith("sqlite")
    if not force:
        if not _database_is_empty(settings):
            raise BackupError("the database is not empty: restore into a fresh one, or pass --force")
        if media.is_dir() and any(media.iterdir()):
            raise BackupError(f"{media} is not empty: restore into a fresh data folder, or pass --force")
    with tempfile.TemporaryDirectory(prefix=".restore-", dir=data_dir) as scratch:
        staging = Path(scratch)
        with _verified(archive_path, staging) as manifest:
            if (manifest["database"] == "sqlite") != sqlite_target:
                raise BackupError(
                    f"this backup holds a {manifest['database']} database; the configured database is "
                    f"{'SQLite' if sqlite_target else 'PostgreSQL'} (restore to the same kind)"
                )
            if sqlite_target:
                target = Path(make_url(settings.database_url).database or "")
                for suffix in ("-wal", "-shm"):
                    Path(f"{target}{suffix}").unlink(missing_ok=True)
                os.replace(staging / SQLITE_MEMBER, target)
            else:
                url, env = _libpq(settings)
                _run(
                    [
                        "pg_restore",
                        "--no-owner",
                        "--no-privileges",
                        "--clean",
                        "--if-exists",
                        "--single-transaction",
                        f"--dbname={url}",
                        str(staging / POSTGRES_MEMBER),
                    ],
                    env,
                )
            files = size = 0
            if (staging / "media").is_dir():
                if media.exists():
                    shutil.rmtree(media)
                os.replace(staging / "media", media)
                for path in media.rglob("*"):
                    if path.is_file():
                        files += 1
                        size += path.stat().st_size
    return Summary(manifest["database"], files, size)
