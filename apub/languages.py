"""Language tags of natural-language values (`contentMap`, `summaryMap`) and of a status's `language`.

A received map may use any BCP 47 tag (`nl`, `fy`, `en-GB`); what a local author writes is an ISO 639
code that pycountry knows (as `/api/v1/instance/languages` lists them)."""

from __future__ import annotations

import re
from functools import cache

import pycountry

# BCP 47's shape, loosely: a 2–3 letter language, then subtags of up to 8 letters or digits.
_TAG = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")
MAX_TAG_LENGTH = 16  # the `language` columns


def language_tag(value: object) -> str | None:
    """`value` as a language tag we store (BCP 47 shape, at most 16 characters, language lower-cased), or
    None when it is not one (`und` and private tags included)."""
    if not isinstance(value, str) or len(value) > MAX_TAG_LENGTH or not _TAG.fullmatch(value):
        return None
    language, _, rest = value.partition("-")
    if language.lower() == "und":
        return None
    return f"{language.lower()}-{rest}" if rest else language.lower()


@cache
def _iso_639_codes() -> dict[str, str]:
    """Every ISO 639-1 and 639-3 code of a language (not the special `und`, `mul`, `mis`, `zxx`), each to
    the language's shortest code (`fry` → `fy`)."""
    codes: dict[str, str] = {}
    for language in pycountry.languages:
        if getattr(language, "type", "") == "S":
            continue
        short = getattr(language, "alpha_2", None)
        for code in (short, getattr(language, "alpha_3", None)):
            if code:
                codes[code] = short or code
    return codes


def is_known_language(code: str) -> bool:
    """Whether `code` is an ISO 639-1 or 639-3 code (`fy`, `nl`, `fry`, `nds`)."""
    return code in _iso_639_codes()


def same_language_key(code: str) -> str:
    """What two codes of one language share: its ISO 639-1 code when it has one (`fry` and `fy` → `fy`)."""
    return _iso_639_codes().get(code, code)


def accept_language_ranges(header: str | None) -> list[str]:
    """The language ranges of an `Accept-Language` header as written (`*` included), most wanted first;
    those with q=0 or an unreadable q are left out."""
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag.strip() and quality > 0:
            weighted.append((-quality, position, tag.strip()))
    return [tag for _, _, tag in sorted(weighted)]


def accepted_language_tags(header: str | None, limit: int = 8) -> list[str]:
    """The language tags of an `Accept-Language` header (`language_tag`s, no `*`), most wanted first."""
    tags = (language_tag(tag) for tag in accept_language_ranges(header))
    return [tag for tag in tags if tag is not None][:limit]


def primary_subtag(tag: str) -> str:
    """The language of a tag (`en` of `en-GB`), to match a reader's language with a variant's."""
    return tag.partition("-")[0].lower()
