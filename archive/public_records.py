"""The public-records archive (Archiefwet: keep what is published; Woo: be able to disclose it).

`export_public_records` writes one package for a period: for each local account (or one), what it published
(`activities.jsonl`, every activity as it was sent: posts with each edit's revision, deletions, boosts,
favourites, pins, profile changes), what it received (`received.jsonl`: replies and mentions by others, a
deleted one marked `deleted`), its media files with their descriptions (`media.jsonl`, `media/`), and an
`index.html` to read it all in a browser; the whole is a BagIt bag with SHA-256 checksums (archive.bag).

Reproducible: records are ordered by time then id, JSON is written with sorted keys, and nothing in the
package depends on when it was made — the same closed period gives the same bytes (unless what it describes
has changed since: a received post edited, or media purged after `privacy.deleted_media_days`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from archive.bag import BagError, write_bag
from archive.index_page import ArchivedFile, account_view, render_index
from archive.records import AccountRecords, Period, account_records
from storage.accounts import INSTANCE_ACTOR_USERNAME
from storage.context import Context
from storage.media import media_file_url
from storage.models import Account
from storage.urls import LocalUrls


class ArchiveError(Exception):
    """The export cannot be made as asked (unknown account, bad period, folder in use)."""


@dataclass(frozen=True)
class ArchiveSummary:
    accounts: int
    activities: int
    received: int
    media_files: int
    payload_bytes: int


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def period_of(since: date | None, until: date | None) -> Period:
    """The days from `since` through `until`, both included (UTC)."""
    if since is not None and until is not None and until < since:
        raise ArchiveError("--until is before --since")
    return Period(
        since=day_start(since) if since else None,
        until=day_start(until + timedelta(days=1)) if until else None,
    )


def _json_line(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"


def _jsonl(values: list[Any]) -> bytes:
    return "".join(_json_line(value) for value in values).encode()


def _describe_period(period: Period) -> str:
    since = period.since.date().isoformat() if period.since else "the beginning"
    until = (period.until - timedelta(days=1)).date().isoformat() if period.until else "the time of export"
    return f"{since} – {until}"


async def _accounts(ctx: Context, username: str | None) -> list[Account]:
    async with ctx.db.read() as session:
        query = select(Account).where(Account.domain.is_(None)).order_by(Account.username)
        if username is not None:
            query = query.where(Account.username == username)
        accounts = list((await session.execute(query)).scalars())
    if username is not None and not accounts:
        raise ArchiveError(f"no local account {username!r}")
    # The instance actor publishes nothing of its own (it signs fetches and files reports).
    return [account for account in accounts if account.username != INSTANCE_ACTOR_USERNAME]


def _account_payload(
    records: AccountRecords, base_url: str
) -> tuple[dict[str, bytes | Path], dict[str, ArchivedFile]]:
    folder = records.account.username
    files: dict[str, bytes | Path] = {}
    by_url: dict[str, ArchivedFile] = {}
    media_lines = []
    for item in records.media:
        files[f"{folder}/{item.name}"] = item.source
        assert item.media.file_path is not None
        url = media_file_url(base_url, item.media.file_path)
        by_url[url] = ArchivedFile(item.name, item.media.description or "", item.media.media_type == "image")
        media_lines.append(
            {
                "id": str(item.media.id),
                "status": item.status_uri,
                "file": item.name,
                "url": url,
                "mediaType": item.media.content_type,
                "name": item.media.description,
                "blurhash": item.media.blurhash,
            }
        )
    files[f"{folder}/activities.jsonl"] = _jsonl(records.activities)
    files[f"{folder}/received.jsonl"] = _jsonl(records.received)
    files[f"{folder}/media.jsonl"] = _jsonl(media_lines)
    return files, by_url


async def export_public_records(
    ctx: Context, out: Path, *, username: str | None = None, period: Period, skip_quiet: bool = False
) -> ArchiveSummary:
    """Write the package of `period` to the new (or empty) folder `out`. With `skip_quiet`, accounts that
    neither published nor received anything in the period are left out (the daily packages)."""
    urls = LocalUrls(ctx.base_url)
    gathered = []
    for account in await _accounts(ctx, username):
        async with ctx.db.read() as session:
            records = await account_records(
                session, account, period, urls=urls, domain=ctx.domain, data_dir=ctx.settings.server.data_dir
            )
        if skip_quiet and not (records.activities or records.received):
            continue
        gathered.append(records)
    payload: dict[str, bytes | Path] = {}
    views = []
    for records in gathered:
        files, by_url = _account_payload(records, ctx.base_url)
        payload.update(files)
        views.append(account_view(records, f"@{records.account.username}@{ctx.domain}", by_url))
    described = _describe_period(period)
    title = f"{ctx.settings.instance.name} — public records {described}"
    payload["index.html"] = render_index(title=title, base_url=ctx.base_url, period=described, accounts=views)
    info = {
        "Source-Organization": ctx.settings.instance.name,
        "External-Identifier": ctx.base_url,
        "External-Description": f"Publications of {len(gathered)} account(s) of {ctx.domain}, {described}",
        "Bag-Software-Agent": "Plein",
        "Bagging-Date": (period.until - timedelta(days=1)).date().isoformat()
        if period.until
        else datetime.now(UTC).date().isoformat(),
    }
    if period.since is not None:
        info["Plein-Period-Since"] = period.since.date().isoformat()
    if period.until is not None:
        info["Plein-Period-Until"] = (period.until - timedelta(days=1)).date().isoformat()
    try:
        size = write_bag(out, payload, info)
    except (BagError, OSError) as error:
        raise ArchiveError(f"cannot write {out}: {error}") from error
    return ArchiveSummary(
        accounts=len(gathered),
        activities=sum(len(records.activities) for records in gathered),
        received=sum(len(records.received) for records in gathered),
        media_files=sum(len(records.media) for records in gathered),
        payload_bytes=size,
    )
