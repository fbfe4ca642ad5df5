"""rel="me" links of a web page (profile link verification, as Mastodon's VerifyLinkService reads them):
the `href` of every `<a>` and `<link>` whose space-separated `rel` includes `me`. Pure, on text; read with
the standard library's HTML tokenizer, which takes broken markup as browsers do rather than failing."""

from __future__ import annotations

from html.parser import HTMLParser

__all__ = ["rel_me_links", "sole_link"]


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


class _SoleLinkParser(HTMLParser):
    """Reads whether a fragment is one `<a>` element and nothing else around it, and that link's href and
    text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.top_elements = 0
        self.stray_text = False
        self.href: str | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth == 0:
            self.top_elements += 1
            self.href = dict(attrs).get("href") if tag == "a" and self.top_elements == 1 else None
        if tag not in ("br", "img", "hr", "wbr"):
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        self.depth = max(self.depth - 1, 0)

    def handle_data(self, data: str) -> None:
        if self.depth == 0:
            self.stray_text = self.stray_text or bool(data.strip())
        else:
            self.text.append(data)


def sole_link(fragment: str) -> str | None:
    """The href of an HTML fragment that is one link whose text is its href and nothing else (how a remote
    profile field carries a link Mastodon verifies); None otherwise."""
    parser = _SoleLinkParser()
    parser.feed(fragment)
    parser.close()
    if parser.top_elements != 1 or parser.stray_text or not parser.href:
        return None
    return parser.href if "".join(parser.text).strip() == parser.href else None
