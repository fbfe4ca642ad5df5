"""What the public-records archive holds of one local account in one period, read from the database.

The published record is the `activities` table: every activity Plein sent for the account is stored there
with the exact JSON it sent (kept when the status is later deleted: statuses are tombstoned, not removed). So
an edit is its `Update` with the revision as it went out, a deletion its `Delete`, a profile change its
`Update` of the actor. Relationship housekeeping (follows, blocks, reports, accepts) is not publication and
is left out. What the account received — replies and mentions by others — is rendered from the stored
statuses, deleted ones included and marked. Media are the stored files of the account's statuses, found in
the public folder or, once their status was deleted, in the withdrawn-media folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from apub.builders import iso_datetime
from outbox.render import load_note_parts, status_to_note
from storage.media import media_root, parse_stored_path
from storage.media_lifecycle import withdrawn_root
from storage.models import Account, Activity, MediaAttachment, Mention, Status
from storage.urls import LocalUrls

# Activity types that publish something; an `Undo` is kept when what it undoes is one of these.
PUBLISHED_TYPES = frozenset({"Create", "Update", "Delete", "Announce", "Like", "Move", "Add", "Remove"})


@dataclass(frozen=True)
class Period:
    """[since, until): either end open when None."""

    since: datetime | None
    until: datetime | None


@dataclass(frozen=True)
class ArchivedMedia:
    """One stored file of a published status, and where the archive keeps it."""

    media: MediaAttachment
    status_uri: str
    source: Path  # the file on disk
    name: str  # its path inside the account's folder of the package


@dataclass(frozen=True)
class AccountRecords:
    account: Account
    activities: list[dict[str, Any]]
    received: list[dict[str, Any]]
    media: list[ArchivedMedia]


def _within(column: Any, period: Period) -> list[Any]:
    bounds = []
    if period.since is not None:
        bounds.append(column >= period.since)
    if period.until is not None:
        bounds.append(column < period.until)
    return bounds


async def _published(session: AsyncSession, account: Account, period: Period) -> list[Activity]:
    rows = list(
        (
            await session.execute(
                select(Activity)
                .where(
                    Activity.account_id == account.id,
                    Activity.activity_type.in_([*PUBLISHED_TYPES, "Undo"]),
                    *_within(Activity.created_at, period),
                )
                .order_by(Activity.created_at, Activity.id)
            )
        ).scalars()
    )
    return [row for row in rows if row.activity_type != "Undo" or await _undoes_publication(session, row)]


async def _undoes_publication(session: AsyncSession, undo: Activity) -> bool:
    undone = undo.payload.get("object")
    if isinstance(undone, dict):
        return undone.get("type") in PUBLISHED_TYPES
    if isinstance(undone, str):
        kind = await session.scalar(select(Activity.activity_type).where(Activity.uri == undone))
        return kind in PUBLISHED_TYPES
    return False


async def _received(
    session: AsyncSession, account: Account, period: Period, urls: LocalUrls, domain: str
) -> list[dict[str, Any]]:
    mentioning = select(Mention.status_id).where(Mention.account_id == account.id)
    statuses = (
        await session.execute(
            select(Status)
            .where(
                Status.account_id != account.id,
                Status.reblog_of_id.is_(None),
                or_(Status.in_reply_to_account_id == account.id, Status.id.in_(mentioning)),
                *_within(Status.created_at, period),
            )
            .order_by(Status.created_at, Status.id)
        )
    ).scalars()
    received = []
    for status in statuses:
        author = await session.get(Account, status.account_id)
        assert author is not None
        note = status_to_note(
            await load_note_parts(session, status, author), urls, domain, with_context=False
        )
        if author.domain is not None:
            note.pop("replies", None)  # our collection URL would be wrong for another server's status
        if status.deleted_at is not None:
            note["deleted"] = iso_datetime(status.deleted_at)
        received.append(note)
    return received


async def _media(session: AsyncSession, activities: list[Activity], data_dir: Path) -> list[ArchivedMedia]:
    status_ids = sorted(
        {
            row.status_id
            for row in activities
            if row.status_id is not None and row.activity_type in ("Create", "Update")
        }
    )
    if not status_ids:
        return []
    rows = (
        await session.execute(
            select(MediaAttachment, Status.uri)
            .join(Status, Status.id == MediaAttachment.status_id)
            .where(MediaAttachment.status_id.in_(status_ids), MediaAttachment.file_path.is_not(None))
            .order_by(MediaAttachment.id)
        )
    ).all()
    found = []
    for media, status_uri in rows:
        assert media.file_path is not None
        stored = parse_stored_path(media.file_path)
        if stored is None:
            continue
        for root in (media_root(data_dir), withdrawn_root(data_dir)):
            source = root / media.file_path
            if source.is_file():
                found.append(
                    ArchivedMedia(media, status_uri, source, f"media/{stored.media_id}.{stored.extension}")
                )
                break
    return found


async def account_records(
    session: AsyncSession, account: Account, period: Period, *, urls: LocalUrls, domain: str, data_dir: Path
) -> AccountRecords:
    """Everything the archive keeps of `account` for `period`."""
    activities = await _published(session, account, period)
    return AccountRecords(
        account=account,
        activities=[row.payload for row in activities],
        received=await _received(session, account, period, urls, domain),
        media=await _media(session, activities, data_dir),
    )
