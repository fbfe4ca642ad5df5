"""The languages of the web pages: gettext catalogues (`web/locale/<lang>/LC_MESSAGES/messages.po`, kept with
Babel: `make messages`) and the choice of language per request.

The `.po` files are the only form kept in git: they are compiled in memory when the app starts (a few
milliseconds), so a clean clone runs without a build step and no compiled file can go stale.
"""

from __future__ import annotations

import io
from pathlib import Path

from babel.core import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from apub.languages import accept_language_ranges

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("nl", "en")
DOMAIN = "messages"


def catalogue_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def load_translations(language: str) -> Translations:
    """The compiled catalogue of one language (fuzzy entries are left out, as `pybabel compile` does)."""
    with catalogue_path(language).open("rb") as po_file:
        catalogue = read_po(po_file, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def accepted_languages(header: str) -> list[str]:
    """The primary language subtags of an Accept-Language header, most wanted first (q=0 left out)."""
    return [tag.split("-")[0].lower() for tag in accept_language_ranges(header)]


def language_name(code: str, page_language: str) -> str:
    """A post's language as the page names it (`fy` is "Fries" on a Dutch page), from Babel's CLDR data;
    the code itself when CLDR does not know it."""
    names = Locale.parse(page_language).languages
    return str(names.get(code.replace("-", "_")) or names.get(code.partition("-")[0]) or code)


def choose_language(account_locale: str | None, accept_language: str, default: str) -> str:
    """The language of a page: the account's choice, else the first of the browser's languages Plein
    speaks (`*` meaning any: the default), else the instance's default."""
    if account_locale in LANGUAGES:
        return str(account_locale)
    for language in accepted_languages(accept_language):
        if language in LANGUAGES:
            return language
        if language == "*":
            return default
    return default
