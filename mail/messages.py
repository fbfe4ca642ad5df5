"""E-mail messages from templates: one folder per language (`templates/<language>/<kind>.txt`), each
template with a `subject` and a `body` block, so every sentence is written whole in its language."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from functools import cache
from pathlib import Path
from typing import Any

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


@cache
def _environment() -> Environment:
    # Plain-text mail: nothing is HTML-escaped; the values are names and links Plein made itself.
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=False,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def render_mail(kind: str, language: str, to: str, **values: Any) -> MailMessage:
    """Render message `kind` in `language` (one of SUPPORTED_LANGUAGES) for `to`."""
    template = _environment().get_template(f"{language}/{kind}.txt")
    context = template.new_context(values)
    subject = "".join(template.blocks["subject"](context)).strip()
    body = "".join(template.blocks["body"](context)).strip() + "\n"
    return MailMessage(to=to, language=language, subject=subject, body=body)
