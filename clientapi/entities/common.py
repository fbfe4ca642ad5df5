"""Small formatting rules every entity follows: ids as strings, ISO 8601 timestamps with milliseconds."""

from __future__ import annotations

from datetime import UTC, date, datetime

from storage.context import Context


def format_time(moment: datetime) -> str:
    """`2026-11-29T10:57:15.000Z`: UTC, millisecond precision, as Mastodon writes timestamps."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    # isoformat is ~3× cheaper than strftime, and this runs dozens of times per timeline page.
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def format_optional_time(moment: datetime | None) -> str | None:
    """`format_time`, or None for a missing timestamp."""
    return format_time(moment) if moment is not None else None


def format_date(moment: datetime | date | None) -> str | None:
    """`2026-11-29` (Mastodon gives some fields, like `last_status_at`, as a date only)."""
    if moment is None:
        return None
    if isinstance(moment, datetime):
        moment = moment.astimezone(UTC).date()
    return moment.isoformat()


def id_str(row_id: int | None) -> str | None:
    """Ids travel as strings so JavaScript clients keep all 64 bits."""
    return str(row_id) if row_id is not None else None


def missing_image_url(ctx: Context, kind: str) -> str:
    """The static placeholder served for an account without an avatar (`kind` "avatars") or header
    ("headers"); Mastodon clients recognise the `/original/missing.png` ending."""
    return f"{ctx.base_url}/{kind}/original/missing.png"
