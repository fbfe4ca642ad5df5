"""rel="me" links of a web page (profile link verification, as Mastodon's VerifyLinkService reads them):
the `href` of every `<a>` and `<link>` whose space-separated `rel` includes `me`. Pure, on text; read with
the standard library's HTML tokenizer, which takes broken markup as browsers do rather than failing."""

from __future__ import annotations

from html.parser import HTMLParser

__all__ = ["rel_me_links"]


class _RelMeParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("a", "link"):
            return
        values = dict(attrs)
        rel, href = values.get("rel"), values.get("href")
        if rel is not None and href and "me" in rel.lower().split():
            self.links.append(href.strip())

    handle_startendtag = handle_starttag  # `<link rel="me" href="…" />`


def rel_me_links(page: str) -> list[str]:
    """The `href`s of the page's `<a rel="me">` and `<link rel="me">` elements, in document order."""
    parser = _RelMeParser()
    parser.feed(page)
    parser.close()
    return parser.links
