"""Hashtag names as Mastodon accepts them, for names that arrive from other servers.

Mastodon's rule (`Tag::HASHTAG_NAME_RE`): a name is either word characters with at least one letter, or a
run of word characters and separators (`_`, `·`, `・`, zero-width non-joiner) that begins and ends with a word
character and has a letter or separator inside. Before checking, a received name is normalised as Mastodon's
`HashtagNormalizer` does: compatibility forms folded (full-width letters), lower case, every character that
is neither a letter, a digit nor a separator removed — so `#<script>` is stored as `script`, and a name left
with no letter is dropped. Unicode classes are read from `unicodedata` (Onigmo's `[[:word:]]` takes letters,
marks, numbers and connectors, which Python's `\\w` does not all take: a Devanagari vowel sign is a mark).
"""

from __future__ import annotations

import unicodedata

SEPARATORS = frozenset("_\u00b7\u30fb\u200c")
MAX_NAME_LENGTH = 255  # the `tags.name` column


def _is_word(character: str) -> bool:
    category = unicodedata.category(character)
    return category[0] in "LMN" or category == "Pc"


def _is_alpha(character: str) -> bool:
    return unicodedata.category(character)[0] in "LM"


def _is_kept(character: str) -> bool:
    """Mastodon keeps `[[:alnum:]]` and the separators, and removes everything else."""
    return _is_alpha(character) or unicodedata.category(character) == "Nd" or character in SEPARATORS


def is_hashtag_name(name: str) -> bool:
    """True when `name` (without `#`) matches Mastodon's HASHTAG_NAME_RE."""
    if not name:
        return False
    if all(_is_word(character) for character in name) and any(_is_alpha(character) for character in name):
        return True
    return (
        len(name) >= 3
        and _is_word(name[0])
        and _is_word(name[-1])
        and all(_is_word(character) or character in SEPARATORS for character in name)
        and any(_is_alpha(character) or character in SEPARATORS for character in name[1:-1])
    )


def normalize_hashtag(name: str) -> str | None:
    """The name under which a received hashtag is stored, or None when nothing valid is left of it."""
    folded = unicodedata.normalize("NFKC", name).lstrip("#").lower()
    kept = "".join(character for character in folded if _is_kept(character))
    if len(kept) > MAX_NAME_LENGTH or not is_hashtag_name(kept):
        return None
    return kept
