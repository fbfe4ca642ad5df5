"""The instance's long texts — about page, privacy policy, terms of service — written by the admin in
Markdown, in files named in the config or in the browser (`storage.instance_profile` chooses which),
rendered to HTML for the API and the web.

Read from disk on each use: they are asked for rarely, and an edited file shows without a restart. The
admin's HTML is cleaned like any other (nh3): raw HTML in the Markdown is not rendered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "p", "br", "a", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "hr",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip


@dataclass(frozen=True)
class InstanceText:
    html: str
    updated_at: datetime  # when the file was last changed


def render_markdown(text: str) -> str:
    """CommonMark (with tables) to clean HTML; raw HTML in the source stays text."""
    rendered = MarkdownIt("commonmark", {"html": False}).enable("table").render(text)
    return nh3.clean(
        rendered,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href"}, "ol": {"start"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


def read_instance_text(path: str) -> InstanceText | None:
    """The rendered text of a configured file; None when the setting is empty."""
    if not path:
        return None
    file = Path(path)
    modified = datetime.fromtimestamp(file.stat().st_mtime, UTC)
    return InstanceText(render_markdown(file.read_text(encoding="utf-8")), modified)
