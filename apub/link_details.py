"""Preview cards, the pure part: which link of a post gets a card, and what a linked page says about itself.

Which link (Mastodon's FetchLinkCardService): the first `<a href>` of the post's HTML that is not a hashtag
(`rel="tag"`), a mention (class `mention`, `u-url` or `h-card`, or the URL of an account the post mentions),
not on this server, not in a quote post's "RE:" fallback (`quote-inline`), http(s) with a host, and at most
`MAX_CARD_URL` characters. A local author may opt a
link out by typing it in angle brackets, `<https://…>` (`opted_out_links`).

What a page says (Mastodon's LinkDetailsExtractor, read with selectolax's lexbor HTML parser, which reads
broken markup as browsers do): OpenGraph (`og:title`, `og:description`, `og:image`, `og:image:alt`,
`og:site_name`, `og:locale`, `og:type`, `article:published_time`, `og:url` / `<link rel=canonical>` on the
page's own host), Twitter tags (`twitter:title` / `description` / `image` as fallbacks; `twitter:player` makes a
`video` card with an iframe), `<title>` and `<meta name=description>`, `<html lang>`, `fediverse:creator`
(author attribution), and the oEmbed endpoint the page announces (`<link rel=alternate
type=application/json+oembed>`), whose `link`, `photo` and `video` answers take precedence (`rich` embeds
rely on scripts: refused, as Mastodon does).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import nh3
from selectolax.lexbor import LexborHTMLParser, LexborNode

from apub.hosts import host_of

__all__ = [
    "MAX_CARD_URL",
    "LinkDetails",
    "card_link",
    "link_details",
    "oembed_details",
    "opted_out_links",
]

MAX_CARD_URL = 2048  # the column's size (Mastodon's own limit, 2692 bytes, is for its index)
MAX_TEXT = 2000  # longest title or description kept
_SKIPPED_CLASSES = re.compile(r"\b(?:mention|u-url|h-card)\b")
_OPTED_OUT = re.compile(r"<(https?://[^\s<>\"']+)>")
# The iframe of a video card: all a player needs, nothing that runs in our page.
_IFRAME_ATTRIBUTES = {"iframe": {"src", "width", "height", "allowfullscreen", "frameborder", "scrolling"}}


@dataclass(frozen=True)
class LinkDetails:
    """What a card shows, as read from a page (every text already plain, every URL absolute)."""

    url: str
    title: str = ""
    description: str = ""
    card_type: str = "link"  # link | photo | video (Mastodon's PreviewCard types; rich is refused)
    html: str = ""
    width: int = 0
    height: int = 0
    image_url: str | None = None
    image_description: str = ""
    provider_name: str = ""
    provider_url: str = ""
    author_name: str = ""
    author_url: str = ""
    embed_url: str = ""
    language: str | None = None
    published_at: datetime | None = None
    creator: str | None = None  # `fediverse:creator`: "@user@host" the page credits
    oembed_url: str | None = None  # the page's announced oEmbed endpoint, to be fetched

    @property
    def usable(self) -> bool:
        """A card needs a title or an embed (Mastodon keeps no card without either)."""
        return bool(self.title.strip() or self.html)


def opted_out_links(text: str) -> set[str]:
    """The URLs a local author typed in angle brackets, `<https://…>`: no card for those."""
    return set(_OPTED_OUT.findall(text))


def _cardable(url: str, local_host: str) -> bool:
    if len(url) > MAX_CARD_URL:
        return False
    host = host_of(url)  # None for anything but an http(s) URL with a valid host
    return host is not None and host != local_host


def card_link(
    content_html: str,
    *,
    local_host: str,
    mention_urls: set[str] = frozenset(),
    opted_out: set[str] = frozenset(),
) -> str | None:
    """The link of a post's HTML that gets a card (see the module docstring), or None."""
    if "<a" not in content_html:
        return None
    for anchor in LexborHTMLParser(content_html).css("a[href]"):
        href = (anchor.attributes.get("href") or "").strip()
        rel = (anchor.attributes.get("rel") or "").lower().split()
        if not href or "tag" in rel or _SKIPPED_CLASSES.search(anchor.attributes.get("class") or ""):
            continue
        if href in mention_urls or href in opted_out or _in_quote_fallback(anchor):
            continue
        if _cardable(href, local_host):
            return href
    return None


def _in_quote_fallback(node: LexborNode) -> bool:
    """Whether a link is part of a quote post's "RE: <link>" fallback (`class="quote-inline"`)."""
    parent = node.parent
    while parent is not None:
        if "quote-inline" in (parent.attributes.get("class") or "").split():
            return True
        parent = parent.parent
    return False


def _absolute(base: str, value: str | None, *, same_host: bool = False) -> str | None:
    if not value or not value.strip() or value.strip() == "null":
        return None
    try:
        url = urljoin(base, value.strip())
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > MAX_CARD_URL:
        return None
    if same_host and parts.hostname != urlsplit(base).hostname:
        return None
    return url


def _text(value: str | None) -> str:
    return " ".join((value or "").split())[:MAX_TEXT]


def _int(value: Any) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return 0
    return number if 0 <= number <= 10_000 else 0


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _language(value: str | None) -> str | None:
    if not value:
        return None
    code = value.strip().replace("_", "-").split("-")[0].lower()
    return code if re.fullmatch(r"[a-z]{2,3}", code) else None


class _Page:
    """Lookups in a parsed page."""

    def __init__(self, page_html: str) -> None:
        self.tree = LexborHTMLParser(page_html)
        self.metas: list[LexborNode] = self.tree.css("meta[content]")

    def meta(self, *names: str) -> str | None:
        """The first non-empty `content` of a `<meta property=…>` or `<meta name=…>` among `names`, in the
        order the names are given."""
        for name in names:
            for node in self.metas:
                attributes = node.attributes
                if name in (attributes.get("property"), attributes.get("name")):
                    content = (attributes.get("content") or "").strip()
                    if content:
                        return content
        return None

    def link(self, rel: str, *, type_: str | None = None) -> str | None:
        for node in self.tree.css("link[href]"):
            rels = (node.attributes.get("rel") or "").lower().split()
            if rel in rels and (type_ is None or (node.attributes.get("type") or "").lower() == type_):
                return node.attributes.get("href")
        return None

    def title(self) -> str | None:
        node = self.tree.css_first("title")
        return node.text() if node is not None else None

    def lang(self) -> str | None:
        node = self.tree.css_first("html")
        return node.attributes.get("lang") if node is not None else None


def _player(player_url: str, width: int, height: int) -> str:
    iframe = (
        f'<iframe src="{html.escape(player_url)}" width="{width}" height="{height}" allowfullscreen="true"'
        ' frameborder="0" scrolling="no"></iframe>'
    )
    return nh3.clean(iframe, tags={"iframe"}, attributes=_IFRAME_ATTRIBUTES, url_schemes={"https"})


def link_details(url: str, page_html: str) -> LinkDetails:
    """What the page at `url` (its HTML, decoded) says about itself (see the module docstring)."""
    page = _Page(page_html)
    player = _absolute(url, page.meta("twitter:player"))
    width, height = _int(page.meta("twitter:player:width")), _int(page.meta("twitter:player:height"))
    player_html = _player(player, width, height) if player and player.startswith("https://") else ""
    site = page.meta("og:site")
    provider_url = _absolute(url, site if site is None or "://" in site else f"http://{site}") or ""
    creator = page.meta("fediverse:creator")
    oembed = page.link("alternate", type_="application/json+oembed")
    return LinkDetails(
        url=_absolute(url, page.link("canonical") or page.meta("og:url"), same_host=True) or url,
        title=_text(page.meta("og:title", "twitter:title") or page.title()),
        description=_text(page.meta("og:description", "twitter:description", "description")),
        card_type="video" if player_html else "link",
        html=player_html,
        width=width if player_html else 0,
        height=height if player_html else 0,
        image_url=_absolute(url, page.meta("og:image", "og:image:url", "twitter:image")),
        image_description=_text(page.meta("og:image:alt", "twitter:image:alt")),
        provider_name=_text(page.meta("og:site_name")),
        provider_url=provider_url,
        author_name=_text(page.meta("og:author", "og:author:username", "author")),
        embed_url=_absolute(url, page.meta("twitter:player:stream")) or "",
        language=_language(page.meta("og:locale") or page.lang()),
        published_at=_date(page.meta("article:published_time")),
        creator=creator.strip() if creator else None,
        oembed_url=_absolute(url, oembed),
    )


def oembed_details(page: LinkDetails, endpoint: str, answer: Any) -> LinkDetails:
    """The page's details with what its oEmbed endpoint answered (`answer`, parsed JSON) taking precedence;
    the page's own details when the answer is unusable (not an object, `rich`, a photo without its URL)."""
    if not isinstance(answer, dict):
        return page
    kind = answer.get("type")
    common = {
        "title": _text(str(answer.get("title") or "")) or page.title,
        "author_name": _text(str(answer.get("author_name") or "")) or page.author_name,
        "author_url": _absolute(endpoint, answer.get("author_url")) or page.author_url,
        "provider_name": _text(str(answer.get("provider_name") or "")) or page.provider_name,
        "provider_url": _absolute(endpoint, answer.get("provider_url")) or page.provider_url,
    }
    thumbnail = _absolute(endpoint, answer.get("thumbnail_url")) or page.image_url
    if kind == "link":
        return replace(page, card_type="link", image_url=thumbnail, **common)
    if kind == "photo":
        photo = _absolute(endpoint, answer.get("url"))
        if photo is None:
            return page
        width, height = _int(answer.get("width")), _int(answer.get("height"))
        return replace(
            page, card_type="photo", embed_url=photo, image_url=photo, width=width, height=height, **common
        )
    if kind == "video":
        player_html = nh3.clean(
            str(answer.get("html") or ""),
            tags={"iframe"},
            attributes=_IFRAME_ATTRIBUTES,
            url_schemes={"https"},
        )
        if "<iframe" not in player_html:
            return page
        width, height = _int(answer.get("width")), _int(answer.get("height"))
        return replace(
            page,
            card_type="video",
            html=player_html,
            width=width,
            height=height,
            image_url=thumbnail,
            **common,
        )
    return page
