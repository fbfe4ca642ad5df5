"""Custom emojis in text and in ActivityPub, as Mastodon has them: `:shortcode:` in a status's text, a
display name or a profile, announced by an `Emoji` tag on the Note or actor that uses it.

Pure functions: the shortcode rules, finding shortcodes in text, the one shape an emoji is handed around in
(`emoji_facts`: what the client API's CustomEmoji entity and the AS2 tag are both made from) and the tag.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

# Mastodon's SHORTCODE_RE_FRAGMENT: two or more ASCII letters, digits or underscores.
SHORTCODE_PATTERN = re.compile(r"[a-zA-Z0-9_]{2,}")
MAX_SHORTCODE = 128  # our column; Mastodon has no upper bound but no sane emoji comes near it
# Mastodon's SCAN_RE: `:code:` not glued to a letter, digit or colon on either side (so `a:b:c` and the
# times in `12:30:45` are no emojis).
_SCAN = re.compile(r"(?<![^\W_]|:):([a-zA-Z0-9_]{2,}):(?![^\W_]|:)")


def is_shortcode(text: str) -> bool:
    """True when `text` is a shortcode Mastodon accepts."""
    return len(text) <= MAX_SHORTCODE and SHORTCODE_PATTERN.fullmatch(text) is not None


def shortcodes_in(texts: Iterable[str | None]) -> list[str]:
    """The shortcodes used as `:code:` in `texts`, each once, in order of first use."""
    found: dict[str, None] = {}
    for text in texts:
        if text and ":" in text:
            for match in _SCAN.finditer(text):
                if len(match[1]) <= MAX_SHORTCODE:
                    found.setdefault(match[1], None)
    return list(found)


def substitute_shortcodes(text: str, replacement: Callable[[str], str | None]) -> str:
    """`text` with each `:code:` (as `shortcodes_in` finds them) replaced by `replacement(code)`, or kept
    when that is None."""
    if ":" not in text:
        return text
    return _SCAN.sub(lambda match: replacement(match[1]) or match[0], text)


def emoji_facts(
    *,
    shortcode: str,
    url: str,
    static_url: str,
    uri: str | None,
    updated: str | None,
    media_type: str | None,
    visible_in_picker: bool = True,
    category: str | None = None,
) -> dict[str, Any]:
    """One emoji as Plein keeps and hands it on (JSON-safe: it is stored on account rows as is)."""
    return {
        "shortcode": shortcode,
        "url": url,
        "static_url": static_url,
        "uri": uri,
        "updated": updated,
        "media_type": media_type,
        "visible_in_picker": visible_in_picker,
        "category": category,
    }


def emoji_tag(facts: dict[str, Any]) -> dict[str, Any]:
    """The `Emoji` tag of a Note or actor that uses the emoji (Mastodon's EmojiSerializer)."""
    tag: dict[str, Any] = {"id": facts.get("uri"), "type": "Emoji", "name": f":{facts['shortcode']}:"}
    if facts.get("updated"):
        tag["updated"] = facts["updated"]
    icon: dict[str, Any] = {"type": "Image", "url": facts["url"]}
    if facts.get("media_type"):
        icon["mediaType"] = facts["media_type"]
    tag["icon"] = icon
    return tag
