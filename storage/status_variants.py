"""The other languages of a multilingual status (docs/MULTILINGUAL.md): rows of `status_variants`, their
snapshot in an edit's revision, and the one choice of which language a reader is shown."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from apub.languages import primary_subtag, same_language_key
from storage.models import StatusVariant


@dataclass(frozen=True)
class Variant:
    """One language of a status: its HTML, content warning and (local statuses) source text."""

    language: str
    content: str
    spoiler_text: str = ""
    text: str = ""


async def variants_of(session: Any, status_ids: Iterable[int]) -> dict[int, list[Variant]]:
    """The variants of each status that has any, by status id, in language order (one query)."""
    ids = list(dict.fromkeys(status_ids))
    if not ids:
        return {}
    # Columns, not the entity: `session` may be a plain connection (the home and list timelines read on
    # one), where selecting the entity would yield only its first column.
    rows = await session.execute(
        select(
            StatusVariant.status_id,
            StatusVariant.language,
            StatusVariant.content,
            StatusVariant.spoiler_text,
            StatusVariant.text,
        )
        .where(StatusVariant.status_id.in_(ids))
        .order_by(StatusVariant.language)
    )
    found: dict[int, list[Variant]] = {}
    for status_id, language, content, spoiler_text, text in rows:
        found.setdefault(status_id, []).append(Variant(language, content, spoiler_text, text))
    return found


async def replace_variants(session: AsyncSession, status_id: int, variants: Sequence[Variant]) -> None:
    """Make `variants` the status's other languages, in the caller's transaction."""
    await session.execute(delete(StatusVariant).where(StatusVariant.status_id == status_id))
    await insert_variants(session, [(status_id, variants)])


async def insert_variants(session: Any, per_status: Sequence[tuple[int, Sequence[Variant]]]) -> None:
    """Store the variants of new statuses (one statement for a batch of received ones)."""
    rows = [
        {
            "status_id": status_id,
            "language": variant.language,
            "content": variant.content,
            "text": variant.text,
            "spoiler_text": variant.spoiler_text,
        }
        for status_id, variants in per_status
        for variant in variants
    ]
    if rows:
        await session.execute(insert(StatusVariant), rows)


def variants_snapshot(variants: Sequence[Variant]) -> list[dict[str, str]] | None:
    """What a revision in `status_edits.variants` keeps of the variants (None: one language only)."""
    if not variants:
        return None
    return [{"language": v.language, "content": v.content, "spoiler_text": v.spoiler_text} for v in variants]


def variants_of_snapshot(snapshot: list[Any] | None) -> list[Variant]:
    """The variants a revision kept."""
    return [
        Variant(str(item["language"]), str(item.get("content", "")), str(item.get("spoiler_text", "")))
        for item in snapshot or ()
        if isinstance(item, dict) and "language" in item
    ]


def chosen_variant(
    variants: Sequence[Variant], primary_language: str | None, wanted: Sequence[str]
) -> Variant | None:
    """The variant a reader who reads `wanted` (most wanted first) is shown, or None for the primary: the
    first wanted language the status has, matched exactly, then by language alone (`en-GB` reads `en`, `fy`
    reads `fry`).
    The primary wins a tie, as it is the author's own first language."""
    if not variants:
        return None
    for language in wanted:
        if primary_language and _same_language(primary_language, language):
            if primary_language == language or not any(v.language == language for v in variants):
                return None
        for variant in variants:
            if variant.language == language:
                return variant
        for variant in variants:
            if _same_language(variant.language, language):
                return variant
    return None


def _same_language(one: str, other: str) -> bool:
    """Whether two tags name one language: by language alone, under either of its ISO 639 codes (`fy-NL`,
    `fy` and `fry` are one)."""
    return same_language_key(primary_subtag(one)) == same_language_key(primary_subtag(other))
