"""The URLs an application registers: which are accepted (`POST /api/v1/apps`) and which may become links.

Redirect URIs follow Mastodon (Doorkeeper with `forbid_redirect_uri`): absolute, no fragment, any scheme a
native app may own (`com.example.app:/callback`) or the out-of-band URN, but never a scheme a browser would
run or read itself. An app's `website` must be an http(s) URL; rows stored before that rule are checked
again wherever a website is shown or handed to clients.
"""

from __future__ import annotations

from urllib.parse import urlsplit

OOB_REDIRECT_URI = "urn:ietf:wg:oauth:2.0:oob"
# Schemes a browser would run or read locally instead of handing to an app (Mastodon forbids the first three).
FORBIDDEN_REDIRECT_SCHEMES = frozenset({"javascript", "data", "vbscript", "file"})


def is_web_url(uri: str) -> bool:
    """An absolute http(s) URL with a host and no whitespace: the only kind of app URL shown as a link."""
    parts = urlsplit(uri)
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and not any(character.isspace() or ord(character) < 0x20 for character in uri)
    )


def valid_redirect_uri(uri: str) -> bool:
    """An absolute URI without a fragment (custom schemes allowed for native apps), or the out-of-band URN."""
    if uri == OOB_REDIRECT_URI:
        return True
    parts = urlsplit(uri)  # lower-cases the scheme, so `JavaScript:` is caught too
    if not parts.scheme or parts.fragment or any(character.isspace() for character in uri):
        return False
    if parts.scheme in ("http", "https"):
        return is_web_url(uri)
    return parts.scheme not in FORBIDDEN_REDIRECT_SCHEMES


def shown_website(website: str | None) -> str | None:
    """`website` when it may be shown as a link (an http(s) URL), else None."""
    return website if website and is_web_url(website) else None
