"""The web pages' languages (web/i18n.py): every text of the templates and web code is in the Dutch catalogue,
translated with the same placeholders, and the language is chosen by the account, then Accept-Language,
then the instance default."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from web.i18n import LANGUAGES, accepted_languages, choose_language, load_translations
from web.i18n import catalogue_path as path_of

ROOT = Path(__file__).resolve().parents[2]
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _source_messages() -> set[str | tuple[str, ...]]:
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: set[str | tuple[str, ...]] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(ROOT), method_map, options_map):
        found.add(message)
    return found


def test_every_text_of_the_pages_is_translated_to_dutch_with_the_same_placeholders() -> None:
    from babel.messages.pofile import read_po

    with path_of("nl").open("rb") as po_file:
        catalogue = read_po(po_file, locale="nl")
    messages = _source_messages()
    assert len(messages) > 50
    for message in messages:
        msgid = message[0] if isinstance(message, tuple) else message
        entry = catalogue.get(msgid)
        assert entry is not None, f"not in web/locale/nl: {msgid!r} (run `make messages`)"
        assert not entry.fuzzy, f"fuzzy: {msgid!r}"
        singular = entry.string[0] if isinstance(entry.string, tuple) else entry.string
        assert singular, f"untranslated: {msgid!r}"
        assert set(_PLACEHOLDER.findall(singular)) == set(_PLACEHOLDER.findall(msgid)), msgid


def test_catalogues_compile_in_memory() -> None:
    for language in LANGUAGES:
        translations = load_translations(language)
        assert translations.gettext("Log in") == {"nl": "Inloggen", "en": "Log in"}[language]


def test_accept_language_is_read_by_quality() -> None:
    assert accepted_languages("de-DE, en;q=0.8, nl;q=0.9") == ["de", "nl", "en"]
    assert accepted_languages("nl;q=0, en") == ["en"]
    assert accepted_languages("fr;q=bad, en-GB") == ["en"]
    assert accepted_languages("") == []


def test_language_choice_account_then_browser_then_default() -> None:
    assert choose_language("en", "nl", "nl") == "en"
    assert choose_language("", "fr, en;q=0.5, nl;q=0.4", "nl") == "en"
    assert choose_language(None, "fr", "nl") == "nl"
    assert choose_language("xx", "", "en") == "en"
    assert choose_language(None, "*", "nl") == "nl"
