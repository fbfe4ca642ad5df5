"""The other languages of a received status: the entries of its `contentMap` (with `summaryMap`) besides
the primary one, which is stored as the status's `content` (docs/MULTILINGUAL.md). Pure: no database."""

from __future__ import annotations

from typing import Any

from apub.html import html_to_text, sanitize_html
from apub.languages import language_tag
from storage.status_variants import Variant

MAX_LANGUAGES = 16  # besides the primary: more is noise, not a region's languages
MAX_SUMMARY = 1000  # as a received content warning


def primary_of(content: Any, content_map: Any) -> tuple[str | None, Any]:
    """The key and value of the primary language of a `contentMap`: the one equal to `content`, else the
    first (Mastodon sends one key, Fedify and Misskey may send several)."""
    if not isinstance(content_map, dict) or not content_map:
        return None, None
    for key, value in content_map.items():
        if isinstance(content, str) and value == content:
            return key, value
    return next(iter(content_map.items()))


def received_variants(document: dict[str, Any], primary_key: str | None) -> list[Variant]:
    """The variants of a received object, sanitised as its content is, without the primary's language."""
    content_map, summary_map = document.get("contentMap"), document.get("summaryMap")
    if not isinstance(content_map, dict) or primary_key is None:
        return []
    seen = {primary_key, language_tag(primary_key)}
    variants: list[Variant] = []
    for key, value in content_map.items():
        tag = language_tag(key)
        if tag is None or key in seen or tag in seen or not isinstance(value, str) or not value.strip():
            continue
        seen.add(tag)
        summary = summary_map.get(key) if isinstance(summary_map, dict) else None
        spoiler_text = html_to_text(summary)[:MAX_SUMMARY] if isinstance(summary, str) else ""
        variants.append(Variant(tag, sanitize_html(value), spoiler_text))
        if len(variants) == MAX_LANGUAGES:
            break
    return sorted(variants, key=lambda variant: variant.language)  # as `variants_of` reads them
