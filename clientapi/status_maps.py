"""Plein's parameters for a status in several languages (docs/MULTILINGUAL.md), as posting, editing and
scheduling a status and editing a draft take them."""

from __future__ import annotations

from clientapi.errors import Unprocessable
from clientapi.params import Params
from outbox.actions.status_languages import VariantDraft, maps_to_drafts

LANGUAGE_MAPS = ("status_map", "spoiler_text_map")


def sends_variants(params: Params) -> bool:
    """Whether the request names other languages at all (an edit without them keeps a draft's)."""
    return any(name in params for name in LANGUAGE_MAPS)


def variant_drafts(params: Params) -> list[VariantDraft]:
    """Plein's extension for a status in several languages (docs/MULTILINGUAL.md): `status_map[fy]=…` and
    `spoiler_text_map[fy]=…` (form or JSON objects), one entry per language besides `language`."""
    texts, warnings = params.get_dict("status_map"), params.get_dict("spoiler_text_map")
    for name, mapping in (("status_map", texts), ("spoiler_text_map", warnings)):
        for language, value in mapping.items():
            if not isinstance(value, str):
                raise Unprocessable(
                    f"Validation failed: {name}[{language}] must be a string", field=f"{name}.{language}"
                )
    stray = sorted(set(warnings) - set(texts))
    if stray:
        raise Unprocessable(
            f"Validation failed: spoiler_text_map[{stray[0]}] has no status_map[{stray[0]}]",
            field=f"spoiler_text_map.{stray[0]}",
        )
    return maps_to_drafts(texts, warnings)
