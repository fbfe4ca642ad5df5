"""Custom emojis on the HTML pages: `:code:` shown as the emoji's image, as Mastodon's web pages do.

The pages show local accounts and their posts only, whose emojis are local: their images are on this
server's media path, which the pages' CSP allows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from markupsafe import Markup, escape

from apub.emojis import substitute_shortcodes

# Text between tags of HTML Plein rendered itself (statuses and notes of local accounts, whose `<` and `>`
# in text and attribute values are escaped): only there may an image be put.
_TAG = re.compile(r"(<[^>]*>)")


def emojify(value: str, emojis: Iterable[dict[str, Any]] | None) -> Markup:
    """`value` (plain text, or Markup of our own HTML) with the `:code:` of `emojis` (`emoji_facts`) as
    images; plain text is escaped first."""
    html = str(value if isinstance(value, Markup) else escape(value))
    by_code = {facts["shortcode"]: facts for facts in emojis or ()}
    if not by_code:
        return Markup(html)  # escaped above, or already Markup

    def image(code: str) -> str | None:
        facts = by_code.get(code)
        if facts is None:
            return None
        name = escape(f":{code}:")
        return f'<img class="emoji" src="{escape(facts["url"])}" alt="{name}" title="{name}">'

    pieces = [
        piece if _TAG.fullmatch(piece) else substitute_shortcodes(piece, image) for piece in _TAG.split(html)
    ]
    return Markup("".join(pieces))  # only escaped pieces and our own tags
