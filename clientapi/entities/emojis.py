"""The CustomEmoji entity, from an emoji as `apub.emojis.emoji_facts` holds it."""

from __future__ import annotations

from typing import Any


def emoji_to_entity(facts: dict[str, Any]) -> dict[str, Any]:
    """CustomEmoji: shortcode, url, static_url, visible_in_picker and category (null when it has none)."""
    return {
        "shortcode": facts["shortcode"],
        "url": facts["url"],
        "static_url": facts["static_url"],
        "visible_in_picker": bool(facts.get("visible_in_picker", True)),
        "category": facts.get("category"),
    }
