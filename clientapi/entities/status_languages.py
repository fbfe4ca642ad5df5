"""Which language of a multilingual status a reader is shown (docs/MULTILINGUAL.md): the Status entity's
`content`, `spoiler_text` and `language` become the chosen variant's, and `plein_languages` lists every
language the status has, the primary first."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import select

from storage.models import User
from storage.status_variants import Variant, chosen_variant, variants_of


async def account_languages(session: Any, viewer_id: int | None) -> list[str]:
    """The languages an account reads, as its settings say: the language of its pages (`locale`), then
    the language it posts in (`source.language`)."""
    if viewer_id is None:
        return []
    row = (
        await session.execute(select(User.locale, User.default_language).where(User.account_id == viewer_id))
    ).first()
    return [language for language in (row or ()) if language]


def _shown_entities(entities: Sequence[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every status entity on a page: the statuses, the originals they boost and the statuses quoted."""
    seen: set[int] = set()
    for entity in entities:
        for shown in (entity, entity.get("reblog")):
            if not shown:
                continue
            quote = shown.get("quote") or {}
            for each in (shown, quote.get("quoted_status")):
                if each and id(each) not in seen:
                    seen.add(id(each))
                    yield each


async def show_reader_languages(
    session: Any, entities: Sequence[dict[str, Any]], viewer_id: int | None, accepted: Sequence[str]
) -> None:
    """Show each multilingual status of `entities` in the reader's language: the account's settings first,
    then `accepted` (the request's Accept-Language), else the primary. One query when no status on the page
    has other languages."""
    shown = [entity for entity in _shown_entities(entities) if entity.get("content")]
    variants = await variants_of(session, (int(entity["id"]) for entity in shown))
    if not variants:
        return
    wanted = [*await account_languages(session, viewer_id), *accepted]
    for entity in shown:
        others = variants.get(int(entity["id"]))
        if others:
            show_variant(entity, others, wanted)


def show_variant(entity: dict[str, Any], variants: Sequence[Variant], wanted: Sequence[str]) -> None:
    """Put the chosen language into one entity and list the languages it has."""
    primary = entity.get("language")
    entity["plein_languages"] = [primary, *(variant.language for variant in variants)]
    chosen = chosen_variant(variants, primary, wanted)
    if chosen is not None:
        entity["content"], entity["spoiler_text"] = chosen.content, chosen.spoiler_text
        entity["language"] = chosen.language
