"""Double-knocking: which signature to send a host first, when to knock again, what an answer proves.

Nothing tells a sender which HTTP signature scheme a server verifies, so a request is signed with one scheme
and, when the answer may be a refusal of that scheme, sent again at once signed with the other. The rules
(the table in docs/SIGNATURES.md, measured against Fedify 1.5, Fedify 2, a server answering 5xx to RFC 9421
and a draft-cavage-only server) are:

- First knock: the scheme this host proved it verifies, else draft-cavage (``FIRST_KNOCK``): every server
  verifies it, so a first contact costs one request everywhere, where RFC 9421 first costs two with every
  server that does not verify RFC 9421 (and some of those answer 500 rather than 401).
- Knock again, with the other scheme, on 401, 403 and any 5xx; and, from a host with no proven scheme, on
  any other 4xx too except 429 (knocking again at once is what a rate limit asks us not to do). A proven
  scheme answered 401/403/5xx is forgotten. At most two knocks per request.
- ``Accept-Signature`` (RFC 9421 section 5) on a refusal names the RFC 9421 signature the server wants
  (label, covered components, key, tag, nonce): when we can make it, the second knock is that signature.
- A scheme is proven, and remembered for ``SchemeMemory.ttl``, only by an answer that must have verified
  it: an accepted inbox POST, or a success after the other scheme got 401/403. A public GET answers 200
  whatever its signature, and a 5xx proves nothing.

RFC 9421 is signed with the RSA key published as ``publicKey`` (``rsa-v1_5-sha256``), the key every
implementation looks RFC 9421 keys up in (Fedify reads only ``publicKey`` for them); the Ed25519 key
(``assertionMethod`` Multikey) only when a host asks for it through ``Accept-Signature``.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Literal

import http_sf

from apub.errors import InvalidHost
from apub.hosts import canonical_host
from apub.httpsig import algorithms

__all__ = [
    "CAVAGE",
    "FIRST_KNOCK",
    "RFC9421",
    "Knock",
    "SchemeMemory",
    "challenged_knock",
    "knock_again",
    "knocks",
    "scheme_host",
]

Scheme = Literal["cavage", "rfc9421"]
SignatureKey = Literal["rsa", "ed25519"]
# What the knocks generator is told of each answer: its status and its Accept-Signature header.
Answer = tuple[int, str | None]
SCHEME_TTL_SECONDS = 7 * 24 * 3600
_REFUSALS = frozenset({401, 403})
_DERIVED = frozenset(
    {"@method", "@target-uri", "@authority", "@scheme", "@path", "@query", "@request-target"}
)
# Header fields every signed request of ours carries (``Date`` and the body digest are added when signing).
_HEADERS_WITH_BODY = frozenset({"date", "host", "content-type", "content-digest"})
_HEADERS_WITHOUT_BODY = frozenset({"date", "host", "accept"})


@dataclass(frozen=True, slots=True)
class Knock:
    """How one attempt is signed: the scheme, and for RFC 9421 the key and, when a server asked for a
    particular signature (``Accept-Signature``), its label, covered components, tag and nonce."""

    scheme: Scheme
    key: SignatureKey = "rsa"
    label: str = "sig1"
    components: tuple[str, ...] | None = None  # None: our default components
    tag: str | None = None
    nonce: str | None = None

    @property
    def is_default(self) -> bool:
        """True when signing needs nothing a challenge asked for (the fast signer's case)."""
        return self.label == "sig1" and self.components is None and self.tag is None and self.nonce is None


CAVAGE = Knock("cavage")
RFC9421 = Knock("rfc9421")
FIRST_KNOCK = CAVAGE


def scheme_host(authority: str) -> str:
    """The key of a host in the scheme memory: the URL's authority as its canonical host
    (`apub.hosts.canonical_host`), so every spelling of one server shares what it proved."""
    try:
        return canonical_host(authority)
    except InvalidHost:  # the request fails elsewhere; its knocks still need a key
        return authority.lower()


class SchemeMemory:
    """Remembers, per remote host, the signature it proved it verifies, for ``ttl`` seconds (LRU, bounded)."""

    def __init__(
        self,
        max_hosts: int = 10_000,
        *,
        ttl: float = SCHEME_TTL_SECONDS,
        first_knock: Knock = FIRST_KNOCK,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_hosts = max_hosts
        self.ttl = ttl
        # What a host with no proven scheme gets first (a parameter so that tests can count the other order).
        self.first_knock = first_knock
        self._clock = clock
        self._knocks: OrderedDict[str, tuple[Knock, float]] = OrderedDict()

    def get(self, host: str) -> Knock | None:
        """The proven signature of ``host``, or None when unknown or expired."""
        entry = self._knocks.get(host)
        if entry is None:
            return None
        if entry[1] <= self._clock():
            del self._knocks[host]
            return None
        self._knocks.move_to_end(host)
        return entry[0]

    def remember(self, host: str, knock: Knock) -> None:
        """Record that ``host`` verified ``knock``'s scheme and key. What a challenge asked of one request
        (label, components, tag, nonce) is not kept: a nonce is single-use, and components fit for a POST
        may not be for a GET."""
        self._knocks[host] = (Knock(knock.scheme, knock.key), self._clock() + self.ttl)
        self._knocks.move_to_end(host)
        while len(self._knocks) > self._max_hosts:
            self._knocks.popitem(last=False)

    def forget(self, host: str) -> None:
        """Drop what is known about ``host``."""
        self._knocks.pop(host, None)

    def __len__(self) -> int:
        return len(self._knocks)


def challenged_knock(
    accept_signature: str, method: str, key_ids: dict[SignatureKey, str | None]
) -> Knock | None:
    """The RFC 9421 signature an ``Accept-Signature`` header asks for, if we can make it, else None.

    ``key_ids`` are our key ids by key type (None when we have no such key). An entry naming a ``keyid``
    that is not ours, an algorithm none of our keys has, or a component we cannot sign is passed over.
    """
    try:
        requested = http_sf.parse(accept_signature.encode("ascii"), tltype="dictionary")
    except (http_sf.StructuredFieldError, ValueError, UnicodeError):
        return None
    assert isinstance(requested, dict)
    with_body = method.upper() not in ("GET", "HEAD")
    headers = _HEADERS_WITH_BODY if with_body else _HEADERS_WITHOUT_BODY
    for label, (members, params) in requested.items():
        if not isinstance(members, list):
            continue
        names = tuple(name for name, member_params in members if isinstance(name, str) and not member_params)
        if not names or len(names) != len(members):
            continue
        if any(name not in _DERIVED and name not in headers for name in names):
            continue
        key = _requested_key(params, key_ids)
        if key is None:
            continue
        tag, nonce = params.get("tag"), params.get("nonce")
        if not isinstance(tag, str | None) or not isinstance(nonce, str | None):
            continue
        return Knock("rfc9421", key, label, names, tag, nonce)
    return None


def _requested_key(params: dict[str, object], key_ids: dict[SignatureKey, str | None]) -> SignatureKey | None:
    key_id, alg = params.get("keyid"), params.get("alg")
    algorithm_of: dict[SignatureKey, str] = {"rsa": algorithms.RSA_V1_5_SHA256, "ed25519": algorithms.ED25519}
    for key, our_id in key_ids.items():
        if our_id is None or (key_id is not None and key_id != our_id):
            continue
        if alg is None or alg == algorithm_of[key]:
            return key
    return None


def knock_again(tried: Knock, proven: bool, status: int, second: Knock | None) -> Knock | None:
    """The knock to send after ``tried`` got ``status``, or None when that answer stands.

    ``proven`` says whether ``tried`` was the host's proven signature; ``second`` is what the server's
    ``Accept-Signature`` asked for (``challenged_knock``), if anything."""
    if status < 400 or status == 429:
        return None
    if proven and status not in _REFUSALS and status < 500:
        return None  # a verified signature, refused for what the request says
    if second is not None and second != tried:
        return second
    return RFC9421 if tried.scheme == "cavage" else CAVAGE


def knocks(
    memory: SchemeMemory, host: str, method: str, key_ids: dict[SignatureKey, str | None]
) -> Generator[Knock, Answer, None]:
    """The knocks of one request to ``host``: yields how to sign, is sent each answer (status,
    ``Accept-Signature``), yields once more when the rules above call for a second knock, and updates
    ``memory`` with what the answers proved."""
    proven = memory.get(host)
    first = proven or memory.first_knock
    status, accept_signature = yield first
    delivery = method.upper() == "POST"
    if 200 <= status < 300:
        if delivery:
            memory.remember(host, first)  # an accepted inbox POST verified it (again: the expiry restarts)
        return
    if proven is not None and (status in _REFUSALS or status >= 500):
        memory.forget(host)
    challenged = challenged_knock(accept_signature, method, key_ids) if accept_signature else None
    second = knock_again(first, proven is not None, status, challenged)
    if second is None:
        return
    second_status, _ = yield second
    if 200 <= second_status < 300 and (delivery or status in _REFUSALS):
        memory.remember(host, second)
