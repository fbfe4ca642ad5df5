"""Outgoing request signing as an ``httpx.Auth``, with per-host scheme negotiation.

``SignatureAuth`` signs every request at send time (after the body is final), adding
``Date``, a body digest and the signature headers. Which scheme a remote accepts is not
advertised, so it *double-knocks*: for a host with no remembered scheme it signs with
RFC 9421 first; on a 400 or 401 it re-signs the same request with draft-cavage and sends it
again. Whichever scheme got a non-400/401 answer is remembered per host in a
``SchemeMemory`` (owned by the caller, typically one per process built in the lifespan), so
later requests to that host cost a single round trip. A remembered scheme that starts
failing is forgotten, so the next request knocks twice again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Generator
from typing import Literal

import httpx
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from apub.httpsig import cavage, rfc9421

__all__ = ["SchemeMemory", "SignatureAuth", "Scheme"]

Scheme = Literal["rfc9421", "cavage"]
_REJECTED = frozenset({400, 401})
_SIGNATURE_HEADERS = ("signature", "signature-input", "content-digest", "digest")


class SchemeMemory:
    """Remembers, per remote host, which signature scheme it accepted (LRU, bounded)."""

    def __init__(self, max_hosts: int = 10_000) -> None:
        self._max_hosts = max_hosts
        self._schemes: OrderedDict[str, Scheme] = OrderedDict()

    def get(self, host: str) -> Scheme | None:
        """Return the remembered scheme for ``host``, or None if unknown."""
        scheme = self._schemes.get(host)
        if scheme is not None:
            self._schemes.move_to_end(host)
        return scheme

    def remember(self, host: str, scheme: Scheme) -> None:
        """Record that ``host`` accepted ``scheme``; evict the least recently used host if full."""
        self._schemes[host] = scheme
        self._schemes.move_to_end(host)
        while len(self._schemes) > self._max_hosts:
            self._schemes.popitem(last=False)

    def forget(self, host: str) -> None:
        """Drop what is known about ``host``."""
        self._schemes.pop(host, None)

    def __len__(self) -> int:
        return len(self._schemes)


class SignatureAuth(httpx.Auth):
    """Sign requests as an actor: RSA key for both schemes, optional Ed25519 for RFC 9421.

    ``key_id``/``private_key`` are the actor's RSA key (``publicKey`` in the actor). When an
    Ed25519 key id and key are given, RFC 9421 requests are signed with it instead
    (``assertionMethod`` Multikey, FEP-521a); draft-cavage always uses the RSA key.
    """

    requires_request_body = True

    def __init__(
        self,
        key_id: str,
        private_key: rsa.RSAPrivateKey,
        *,
        scheme_memory: SchemeMemory,
        ed25519_key_id: str | None = None,
        ed25519_private_key: ed25519.Ed25519PrivateKey | None = None,
    ) -> None:
        self._key_id = key_id
        self._private_key = private_key
        self._memory = scheme_memory
        self._ed25519_key_id = ed25519_key_id
        self._ed25519_private_key = ed25519_private_key

    def sign(self, request: httpx.Request, scheme: Scheme) -> None:
        """Add signature headers for ``scheme`` to ``request`` (replacing earlier ones)."""
        for name in _SIGNATURE_HEADERS:
            if name in request.headers:
                del request.headers[name]
        method, url, body = request.method, str(request.url), request.content
        body_or_none = body if body or method not in ("GET", "HEAD") else None
        if scheme == "rfc9421":
            if self._ed25519_key_id is not None and self._ed25519_private_key is not None:
                key_id, key = self._ed25519_key_id, self._ed25519_private_key
            else:
                key_id, key = self._key_id, self._private_key
            added = rfc9421.sign_request(
                method, url, request.headers, body_or_none, key_id=key_id, private_key=key
            )
        else:
            added = cavage.sign_request(
                method, url, request.headers, body_or_none, key_id=self._key_id, private_key=self._private_key
            )
        request.headers.update(added)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Sign, send, and on 400/401 from a host of unknown scheme re-sign with draft-cavage."""
        host = request.url.netloc.decode("ascii")
        remembered = self._memory.get(host)
        scheme: Scheme = remembered or "rfc9421"
        self.sign(request, scheme)
        response = yield request
        if response.status_code not in _REJECTED:
            self._memory.remember(host, scheme)
            return
        if remembered is not None:
            self._memory.forget(host)
            return
        self.sign(request, "cavage")
        response = yield request
        if response.status_code not in _REJECTED:
            self._memory.remember(host, "cavage")
