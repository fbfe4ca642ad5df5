"""E-mail messages from templates (`templates/<kind>.txt`) whose sentences are gettext messages, each written
whole with named placeholders, so no text is pieced together in any language."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined

SUPPORTED_LANGUAGES = ("nl", "en")
TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class MailMessage:
    """A rendered message: who it goes to, in which language, what it says."""

    to: str
    language: str
    subject: str
    body: str

    def to_email(self, from_address: str, sender_domain: str) -> EmailMessage:
        """The message as RFC 5322 text/plain (UTF-8), marked as sent by a machine (RFC 3834)."""
        email = EmailMessage()
        email["From"] = from_address
        email["To"] = self.to
        email["Subject"] = self.subject
        email["Date"] = formatdate(localtime=False, usegmt=True)
        email["Message-ID"] = make_msgid(domain=sender_domain)
        email["Auto-Submitted"] = "auto-generated"
        email.set_content(self.body)
        email["Content-Language"] = self.language  # after set_content, which replaces Content-* headers
        return email


def mail_language(preferred: str | None, instance_default: str) -> str:
    """The language to write to someone in: theirs if we have it, else the instance's default."""
    language = (preferred or "").split("-")[0].lower()
    if language in SUPPORTED_LANGUAGES:
        return language
    return instance_default if instance_default in SUPPORTED_LANGUAGES else "en"


class MailTemplates:
    """The messages' templates (`templates/<kind>.txt`, each with a `subject` and a `body` block) in every
    language, their sentences translated by the gettext catalogues handed in (the web pages' catalogues:
    one place for every Dutch text, kept with `make messages`)."""

    def __init__(self, translations: Mapping[str, Translations]) -> None:
        self._environments = {
            language: _environment(catalogue) for language, catalogue in translations.items()
        }

    def render(self, kind: str, language: str, to: str, **values: Any) -> MailMessage:
        """Message `kind` in `language` (one of SUPPORTED_LANGUAGES) for `to`."""
        template = self._environments[language].get_template(f"{kind}.txt")
        context = template.new_context(values)
        subject = "".join(template.blocks["subject"](context)).strip()
        body = "".join(template.blocks["body"](context)).strip() + "\n"
        return MailMessage(to=to, language=language, subject=subject, body=body)


def _environment(translations: Translations) -> Environment:
    # Plain-text mail: nothing is HTML-escaped; the values are names and links Plein made itself.
    environment = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=False,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    environment.policies["ext.i18n.trimmed"] = True  # as `make messages` extracts them (babel.cfg)
    environment.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
    return environment
