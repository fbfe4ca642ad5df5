"""One host identity: the canonical host of any URL or account address, and the decisions made on it.

Every comparison of hosts goes through `canonical_host` / `origin_of`: domain policy (block, silence, reject
media, allow-list), origin checks (actor vs object vs keyId), delivery targets (`delivery_inbox`), WebFinger,
key fetches and the federation client's outbound gate. A check made on one spelling of a host then holds for
every other spelling of it (`BLOCKED.test`, `blocked.test.`, `blocked.test:443`, `ｂｌｏｃｋｅｄ.test`).

The canonical form: lower case; IDNs as A-labels (UTS #46 mapping, non-transitional, as httpx and yarl connect
to them); no trailing dot; the port only when it is not the scheme's default (80 for http, 443 for https;
account addresses and bare host names count as https); IPv4 in dotted decimal, IPv6 compressed in brackets.

Refused as malformed input (`InvalidHost`, never read as "some other host"): userinfo (`x@host` in a URL),
an empty label, a port that is not 1-65535 in ASCII digits, characters no host has (percent escapes,
whitespace, controls, backslashes), an invalid IDN or A-label, a non-canonical numeric address (`127.1`,
`0x7f000001`; the SSRF guard refuses those too), a scheme other than http(s).
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

import idna

from apub.errors import InvalidHost
from apub.ssrf import parse_numeric_host

__all__ = [
    "canonical_host",
    "delivery_inbox",
    "host_of",
    "host_name",
    "origin_of",
    "same_origin",
]

DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_HOST_LENGTH = 253
# Characters that never belong in an authority (userinfo is refused separately, with its own message).
_NOT_IN_AUTHORITY = re.compile(r"[\x00-\x20\x7f\\%/?#]")
# An ASCII host name after lower-casing: labels of letters, digits, hyphens (and underscores, which some
# real hosts carry), 1-63 characters each.
_ASCII_NAME = re.compile(r"(?:[a-z0-9_-]{1,63}\.)*[a-z0-9_-]{1,63}")
_PORT = re.compile(r"[0-9]{1,5}")
# The spelling nearly every URL has, already canonical: lower-case scheme and host name (last label starting
# with a letter, so not numeric) or dotted-decimal IPv4, an optional port with no leading zero, then a path,
# query, fragment or the end. A default port or an A-label ("xn--") is sent on to the full canonicaliser.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_PLAIN_ORIGIN = re.compile(
    r"(https?)://((?:[a-z0-9-]{1,63}\.)*[a-z][a-z0-9-]{0,62}|" + rf"{_OCTET}(?:\.{_OCTET}){{3}})"
    r"(?::([1-9][0-9]{0,4}))?(?=[/?#]|\Z)"
)
_CACHED_URL_LENGTH = 2048


def canonical_host(url_or_acct: str) -> str:
    """The canonical host (``name`` or ``name:port``) of an http(s) URL, an ``acct:user@host`` or
    ``user@host`` address (a leading ``@`` allowed), or a bare host name; raises `InvalidHost`."""
    if not isinstance(url_or_acct, str) or not url_or_acct:
        raise InvalidHost(f"not a URL, account address or host: {url_or_acct!r}")
    if "://" in url_or_acct:
        return canonical_origin(url_or_acct).split("://", 1)[1]
    address = url_or_acct[5:] if url_or_acct[:5].lower() == "acct:" else url_or_acct
    address = address.removeprefix("@")
    if "@" in address:
        username, _, host = address.partition("@")
        if not username or "@" in host:
            raise InvalidHost(f"not an account address: {url_or_acct!r}")
        address = host
    return _canonical_authority("https", address, url_or_acct)


def canonical_origin(url: str) -> str:
    """``scheme://canonical-host`` of an absolute http(s) URL; raises `InvalidHost`."""
    origin = origin_of(url)
    if origin is None:
        _origin_by_parsing(url)  # raises, with the reason
        raise AssertionError("unreachable: a URL with no origin fails to parse")
    return origin


def origin_of(url: str | None) -> str | None:
    """``scheme://canonical-host`` of an http(s) URL; None for anything else (malformed hosts included)."""
    if not isinstance(url, str):
        return None
    if len(url) > _CACHED_URL_LENGTH:  # the cache holds only URL-sized strings
        return _cached_origin.__wrapped__(url)
    return _cached_origin(url)


# The receive path asks for the origins of the same few URLs (an activity's id, actor, object, keyId) several
# times per delivery, and for the actor's again with every delivery: a cache and a one-regex fast path keep
# that cheap (bench/inbox.py). Only spellings that are already canonical take the fast path.
@lru_cache(maxsize=4096)
def _cached_origin(url: str) -> str | None:
    plain = _PLAIN_ORIGIN.match(url)
    if plain is not None:
        scheme, name, port = plain.groups()
        if (
            "xn--" not in name
            and len(name) <= MAX_HOST_LENGTH
            and (port is None or DEFAULT_PORTS[scheme] != int(port) <= 65535)
        ):
            return plain.group(0)
    try:
        return _origin_by_parsing(url)
    except InvalidHost:
        return None


def _origin_by_parsing(url: str) -> str:
    scheme, separator, rest = url.partition("://")
    scheme = scheme.lower()
    if not separator or scheme not in DEFAULT_PORTS:
        raise InvalidHost(f"not an http(s) URL: {url!r}")
    end = len(rest)
    for delimiter in "/?#":
        found = rest.find(delimiter)
        if found != -1 and found < end:
            end = found
    return f"{scheme}://{_canonical_authority(scheme, rest[:end], url)}"


def _canonical_authority(scheme: str, authority: str, original: str) -> str:
    if "@" in authority:
        raise InvalidHost(f"userinfo is not accepted in {original!r}")
    if not authority or _NOT_IN_AUTHORITY.search(authority):
        raise InvalidHost(f"malformed host in {original!r}")
    if authority.startswith("["):
        closing = authority.find("]")
        host_text, port_part = authority[1:closing], authority[closing + 1 :]
        if closing == -1 or (port_part and not port_part.startswith(":")):
            raise InvalidHost(f"malformed IPv6 host in {original!r}")
        host = _canonical_ipv6(host_text, original)
        port_text = port_part[1:]
    else:
        host_text, _, port_text = authority.partition(":")
        if ":" in port_text:
            raise InvalidHost(f"malformed host in {original!r} (an IPv6 address needs brackets)")
        host = _canonical_name(host_text, original)
    if not port_text:  # no port, or an empty one (`host:`), which means the default
        return host
    if not _PORT.fullmatch(port_text) or not 0 < int(port_text) <= 65535:
        raise InvalidHost(f"malformed port in {original!r}")
    port = int(port_text)
    return host if port == DEFAULT_PORTS[scheme] else f"{host}:{port}"


def _canonical_ipv6(text: str, original: str) -> str:
    try:
        return f"[{ipaddress.IPv6Address(text).compressed}]"
    except ValueError:
        raise InvalidHost(f"malformed IPv6 host in {original!r}") from None


def _canonical_name(text: str, original: str) -> str:
    if text.isascii():
        name = text.lower()
    else:
        try:
            # UTS #46 maps case, width and the ideographic full stop (`。`) before encoding.
            name = idna.encode(text, uts46=True).decode("ascii").lower()
        except (idna.IDNAError, UnicodeError) as error:
            raise InvalidHost(f"invalid internationalised host in {original!r}: {error}") from None
    name = name.removesuffix(".")
    if len(name) > MAX_HOST_LENGTH or not _ASCII_NAME.fullmatch(name):
        raise InvalidHost(f"malformed host in {original!r}")
    labels = name.split(".")
    for label in labels:
        if label.startswith("xn--") and not _valid_a_label(label):
            raise InvalidHost(f"invalid A-label {label!r} in {original!r}")
    if labels[-1][0].isdigit():  # no top-level domain starts with a digit: this is an address
        numeric = parse_numeric_host(name)
        if numeric is None or not numeric.canonical:
            raise InvalidHost(f"malformed or non-canonical numeric host in {original!r}")
        return str(numeric.address)
    return name


def _valid_a_label(label: str) -> bool:
    try:
        return idna.encode(idna.decode(label), uts46=True).decode("ascii") == label
    except (idna.IDNAError, UnicodeError):
        return False


def host_of(url: str | None) -> str | None:
    """The canonical host (with its port when not the default) of an http(s) URL; None for anything else."""
    origin = origin_of(url)
    return origin.split("://", 1)[1] if origin else None


def host_name(host: str) -> str:
    """A canonical host without its port (`example.org:8443` → `example.org`; IPv6 keeps its brackets)."""
    if host.startswith("["):
        return host[: host.index("]") + 1]
    return host.partition(":")[0]


def same_origin(first: str | None, second: str | None) -> bool:
    """True when both are http(s) URLs on the same scheme and canonical host (port included)."""
    origin = origin_of(first)
    return origin is not None and origin == origin_of(second)


def delivery_inbox(
    actor_uri: str | None, inbox_url: str | None, shared_inbox_url: str | None, *, personal: bool = False
) -> str | None:
    """Where deliveries to a remote actor go: its shared inbox when that is on the actor's own origin (and
    `personal` is not asked for), else its personal inbox when that is, else nowhere.

    An actor document is the word of its own server only: an inbox it names on another host would make us
    deliver there (to a host we block, or one that never asked for our posts)."""
    origin = origin_of(actor_uri)
    if origin is None:
        return None
    candidates = (inbox_url,) if personal else (shared_inbox_url, inbox_url)
    for candidate in candidates:
        if candidate and origin_of(candidate) == origin:
            return candidate
    return None
