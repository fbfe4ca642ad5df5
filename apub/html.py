"""Sanitising remote HTML (status content, account bios) to the subset Mastodon shows for remote posts.

Remote HTML is hostile until cleaned: only a small set of inline and block tags survives, links keep only
safe schemes (never ``javascript:`` or ``data:``) and are marked ``rel="nofollow noopener noreferrer"``,
classes are limited to the microformats and markers Mastodon itself emits (mentions, hashtags, the
``invisible``/``ellipsis`` spans of shortened links, the ``quote-inline`` "RE:" fallback of a quote post,
which apps hide when they show the quote). Script and style elements are dropped with their
content; every other unknown element is dropped but keeps its text.
"""

from __future__ import annotations

import html

import nh3

__all__ = ["sanitize_html", "html_to_text"]

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "span", "a", "del", "s", "pre", "blockquote", "code", "b", "strong", "u", "i", "em",
        "ul", "ol", "li", "ruby", "rt", "rp",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "translate"},
    "span": {"translate"},
    "ol": {"start", "reversed"},
    "li": {"value"},
}
MICROFORMAT_CLASSES = {"h-card", "h-entry", "u-url", "u-uid", "p-name", "p-nickname", "e-content"}
ALLOWED_CLASSES = {
    "a": MICROFORMAT_CLASSES | {"mention", "hashtag", "status-link", "unhandled-link"},
    "span": MICROFORMAT_CLASSES | {"mention", "hashtag", "invisible", "ellipsis", "quote-inline"},
    "p": {"quote-inline"},
}
URL_SCHEMES = frozenset(
    {"http", "https", "dat", "dweb", "ipfs", "ipns", "ssb", "gopher", "xmpp", "magnet", "gemini"}
)
DROPPED_WITH_CONTENT = frozenset({"script", "style", "template", "iframe", "object", "embed", "noscript"})
LINK_REL = "nofollow noopener noreferrer"


def sanitize_html(fragment: str) -> str:
    """Clean a remote HTML fragment to the allow-list described in the module docstring."""
    if not fragment:
        return ""
    return nh3.clean(
        fragment,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        allowed_classes={tag: set(names) for tag, names in ALLOWED_CLASSES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        url_relative="deny",
        strip_comments=True,
    )


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment (for content warnings and display names), entities decoded."""
    if not fragment:
        return ""
    return html.unescape(
        nh3.clean(fragment, tags=set(), clean_content_tags=set(DROPPED_WITH_CONTENT))
    ).strip()
