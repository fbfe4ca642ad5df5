"""Plain text as typed by a local author → the safe HTML we store and federate.

Paragraphs on blank lines, `<br />` on single newlines, links made clickable, `@user` / `@user@host`
mentions as h-card links (only those that resolved to an account), `#tag` as hashtag links. Everything else
is escaped, so the output needs no sanitiser.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from html import escape

URL_PATTERN = r"https?://[^\s<>\"']+"
# `@name` or `@name@host[:port]`, not preceded by a word character, slash or '@' (e-mail addresses, paths).
MENTION_PATTERN = r"(?<![\w/@])@(?P<username>[A-Za-z0-9_]+)(?:@(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?(?::\d{1,5})?))?"
# `#tag` with at least one non-digit; not inside words or URLs fragments.
HASHTAG_PATTERN = r"(?<![\w/&#])#(?P<tag>\w*[^\W\d]\w*)"
TOKEN = re.compile(f"(?P<url>{URL_PATTERN})|(?P<mention>{MENTION_PATTERN})|(?P<hashtag>{HASHTAG_PATTERN})")
TRAILING_PUNCTUATION = ".,;:!?)]}'\""


@dataclass(frozen=True)
class MentionTarget:
    """Where a resolved mention links to, and the handle shown."""

    href: str
    username: str


def _split_url(candidate: str) -> tuple[str, str]:
    """Strip trailing punctuation that more likely ends the sentence than the URL."""
    url = candidate.rstrip(TRAILING_PUNCTUATION)
    return url, candidate[len(url) :]


def mentioned_handles(text: str) -> list[tuple[str, str | None]]:
    """The `(username, host or None)` pairs mentioned in `text`, in order, without duplicates."""
    handles: dict[tuple[str, str | None], None] = {}
    for match in TOKEN.finditer(text):
        if match.group("mention"):
            host = match.group("host")
            handles[(match.group("username").lower(), host.lower() if host else None)] = None
    return list(handles)


def hashtags(text: str) -> list[str]:
    """The hashtags of `text`, lower-cased, without '#', in order, without duplicates."""
    return list(
        dict.fromkeys(match.group("tag").lower() for match in TOKEN.finditer(text) if match.group("hashtag"))
    )


def _render_line(
    line: str,
    mentions: Mapping[tuple[str, str | None], MentionTarget],
    tag_url: Callable[[str], str],
) -> str:
    html: list[str] = []
    position = 0
    for match in TOKEN.finditer(line):
        html.append(escape(line[position : match.start()]))
        position = match.end()
        if match.group("url"):
            url, rest = _split_url(match.group("url"))
            html.append(
                f'<a href="{escape(url)}" target="_blank" rel="nofollow noopener noreferrer">{escape(url)}</a>'
            )
            html.append(escape(rest))
        elif match.group("mention"):
            host = match.group("host")
            target = mentions.get((match.group("username").lower(), host.lower() if host else None))
            if target is None:
                html.append(escape(match.group(0)))
                continue
            html.append(
                f'<span class="h-card" translate="no"><a href="{escape(target.href)}" class="u-url mention">'
                f"@<span>{escape(target.username)}</span></a></span>"
            )
        else:
            tag = match.group("tag")
            html.append(
                f'<a href="{escape(tag_url(tag.lower()))}" class="mention hashtag" rel="tag">'
                f"#<span>{escape(tag)}</span></a>"
            )
    html.append(escape(line[position:]))
    return "".join(html)


def text_to_html(
    text: str,
    *,
    mentions: Mapping[tuple[str, str | None], MentionTarget],
    tag_url: Callable[[str], str],
) -> str:
    """Render plain text as paragraphs of escaped text, links, mentions and hashtags."""
    paragraphs = [
        block for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()) if block.strip()
    ]
    rendered = []
    for paragraph in paragraphs:
        lines = [_render_line(line, mentions, tag_url) for line in paragraph.split("\n")]
        rendered.append("<p>" + "<br />".join(lines) + "</p>")
    return "".join(rendered)


_FIELD_URL = re.compile(URL_PATTERN)


def plain_text_to_html(text: str) -> str:
    """Escape plain text typed by a local user and make its bare URLs links (profile field values)."""
    pieces: list[str] = []
    position = 0
    for match in _FIELD_URL.finditer(text):
        pieces.append(escape(text[position : match.start()]))
        url = escape(match.group(0))
        pieces.append(f'<a href="{url}" target="_blank" rel="nofollow noopener noreferrer me">{url}</a>')
        position = match.end()
    pieces.append(escape(text[position:]))
    return "".join(pieces)
