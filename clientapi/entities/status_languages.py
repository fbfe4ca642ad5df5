"""Which language of a multilingual status a reader is shown (docs/MULTILINGUAL.md): the Status entity's
`content`, `spoiler_text` and `language` become the chosen variant's, and `plein_languages` lists every
language the status has, the primary first."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import select

from storage.models import User
from storage.status_variants import Variant, chosen_variant, variants_of


async def account_languages(session: Any, viewer_id: int | None) -> list[str]:
    """The languages an account reads, as its settings say: the language of its pages (`locale`), then
    the language it posts in (`source.language`)."""
    if viewer_id is None:
        return []
    return (await accounts_languages(session, [viewer_id])).get(viewer_id, [])


async def accounts_languages(session: Any, account_ids: Iterable[int]) -> dict[int, list[str]]:
    """`account_languages` of several accounts in one query (the listeners of a public stream)."""
    ids = list(dict.fromkeys(account_ids))
    if not ids:
        return {}
    rows = await session.execute(
        select(User.account_id, User.locale, User.default_language).where(User.account_id.in_(ids))
    )
    return {
        account_id: [language for language in (locale, posting) if language]
        for account_id, locale, posting in rows
    }


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
    variants = await shown_variants(session, entities)
    if variants:
        show_languages(entities, variants, [*await account_languages(session, viewer_id), *accepted])


async def shown_variants(session: Any, entities: Sequence[dict[str, Any]]) -> dict[int, list[Variant]]:
    """The other languages of the statuses `entities` show with content, by status id (one query)."""
    shown = [entity for entity in _shown_entities(entities) if entity.get("content")]
    return await variants_of(session, (int(entity["id"]) for entity in shown))


def show_languages(
    entities: Sequence[dict[str, Any]], variants: dict[int, list[Variant]], wanted: Sequence[str]
) -> None:
    """Show each status of `entities` that has `variants` in the language chosen from `wanted`."""
    shown = [entity for entity in _shown_entities(entities) if entity.get("content")]
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


class ReaderVersions:
    """One rendered status entity (in its primary language) shown in each reader's language, copied and
    switched once per distinct choice of languages rather than once per reader: a public stream's
    listeners mostly read one or two languages."""

    def __init__(self, entity: dict[str, Any], variants: dict[int, list[Variant]]) -> None:
        self._entity = entity
        # The multilingual statuses shown in the entity (itself, a boosted or quoted one), by position.
        self._shown = [
            (position, variants[int(each["id"])])
            for position, each in enumerate(_shown_entities([entity]))
            if each.get("content") and int(each["id"]) in variants
        ]
        self._primaries = [each.get("language") for each in _shown_entities([entity])]
        self._versions: dict[tuple[str | None, ...], dict[str, Any]] = {}

    @classmethod
    async def load(cls, session: Any, entity: dict[str, Any]) -> ReaderVersions:
        """The versions of `entity` (one query for the variants of what it shows)."""
        return cls(entity, await shown_variants(session, [entity]))

    @property
    def multilingual(self) -> bool:
        """Whether readers may see anything but the primary (else `for_reader` is the entity itself)."""
        return bool(self._shown)

    def for_reader(self, wanted: Sequence[str]) -> dict[str, Any]:
        """The entity in the languages a reader who reads `wanted` (most wanted first) is shown."""
        if not self._shown:
            return self._entity
        choice = tuple(
            chosen.language if (chosen := chosen_variant(others, self._primaries[position], wanted)) else None
            for position, others in self._shown
        )
        version = self._versions.get(choice)
        if version is None:
            version = self._versions[choice] = copy.deepcopy(self._entity)
            shown = list(_shown_entities([version]))
            for position, others in self._shown:
                show_variant(shown[position], others, wanted)
        return version
