"""Outgoing request signing as an ``httpx.Auth``, with per-host scheme negotiation.

``SignatureAuth`` signs every request at send time (after the body is final), adding
``Date``, a body digest and the signature headers. Which scheme a remote accepts is not
advertised, so it *double-knocks*: for a host with no remembered scheme it signs with
RFC 9421 first; on a 400 or 401 it re-signs the same request with draft-cavage and sends it
again. Whichever scheme got a non-400/401 answer is remembered per host in a
``SchemeMemory`` (owned by the caller, typically one per process built in the lifespan), so
later requests to that host cost a single round trip. A remembered scheme that starts
failing is forgotten, so the next request knocks twice again.

Speed: a fan-out signs thousands of requests with one key, so RFC 9421 signing goes through
``_Rfc9421Signer``, which makes exactly what ``rfc9421.sign_request`` makes with its defaults
(tests compare the two byte for byte) but serializes the covered-component list and the
``keyid``/``alg`` parameters once per key rather than once per request (structured-field
serialization checks strings character by character), reuses the ``Date`` value within a
second and the ``Content-Digest`` of the body it signed last (a fan-out sends one body to
every inbox). That halves the cost of signing with Ed25519.
"""

from __future__ import annotations

import base64
import time
from collections import OrderedDict
from collections.abc import Generator, Mapping
from typing import Literal

import httpx
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from http_sf.innerlist import ser_innerlist

from apub.digest import content_digest_header
from apub.errors import SignatureMalformed
from apub.httpsig import algorithms, cavage, rfc9421
from apub.httpsig.headers import format_http_date, lowercase_headers
from apub.keys import PrivateKey

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


class _Rfc9421Signer:
    """RFC 9421 signing with one key, as ``rfc9421.sign_request`` does with its defaults, with the parts
    that do not change between requests prepared once (see the module docstring)."""

    def __init__(self, key_id: str, private_key: PrivateKey) -> None:
        self._private_key = private_key
        self._algorithm = (
            algorithms.RSA_V1_5_SHA256 if isinstance(private_key, rsa.RSAPrivateKey) else algorithms.ED25519
        )
        # ";keyid=...;alg=..." exactly as the structured-field serializer writes it after ";created=N".
        self._params_suffix = ser_innerlist(([], {"keyid": key_id, "alg": self._algorithm}))[2:]
        self._lists: dict[tuple[str, ...], str] = {}
        self._date: tuple[int, str] = (0, "")
        self._digest: tuple[bytes | None, str] = (None, "")

    def _component_list(self, components: tuple[str, ...]) -> str:
        serialized = self._lists.get(components)
        if serialized is None:
            serialized = ser_innerlist(([(name, {}) for name in components], {}))
            self._lists[components] = serialized
        return serialized

    def _http_date(self, created: int) -> str:
        if self._date[0] != created:
            self._date = (created, format_http_date(created))
        return self._date[1]

    def _content_digest(self, body: bytes) -> str:
        if self._digest[0] is not body:
            self._digest = (body, content_digest_header(body))
        return self._digest[1]

    def sign(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> dict[str, str]:
        """The headers to add: ``Date`` when missing, ``Content-Digest`` with a body, the signature."""
        existing = lowercase_headers(headers)
        created = int(time.time())
        added: dict[str, str] = {}
        if existing.get("date") is None:
            added["Date"] = self._http_date(created)
        has_body = body is not None and (bool(body) or method.upper() not in ("GET", "HEAD"))
        if has_body and body is not None:
            added["Content-Digest"] = self._content_digest(body)
            extra: tuple[str, ...] = ("content-type", "content-digest", "date")
        else:
            extra = ("accept", "date")
        merged = {
            **{name.lower(): value for name, value in existing.items()},
            **{name.lower(): value for name, value in added.items()},
        }
        components = ("@method", "@target-uri", "@authority") + tuple(n for n in extra if n in merged)
        signature_params = f"{self._component_list(components)};created={created}{self._params_suffix}"
        lines = []
        for name in components:
            value = rfc9421.component_value(name, {}, method, url, merged)
            if "\n" in value or "\r" in value:
                raise SignatureMalformed(f"component {name} contains a line break")
            lines.append(f'"{name}": {value}')
        lines.append(f'"@signature-params": {signature_params}')
        try:
            base = "\n".join(lines).encode("ascii")
        except UnicodeEncodeError:
            raise SignatureMalformed("signature base is not ASCII") from None
        raw = algorithms.sign(self._algorithm, self._private_key, base)
        added["Signature-Input"] = f"sig1={signature_params}"
        added["Signature"] = f"sig1=:{base64.b64encode(raw).decode('ascii')}:"
        return added


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
        if ed25519_key_id is not None and ed25519_private_key is not None:
            self._rfc9421 = _Rfc9421Signer(ed25519_key_id, ed25519_private_key)
        else:
            self._rfc9421 = _Rfc9421Signer(key_id, private_key)

    def signature_headers(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None, scheme: Scheme
    ) -> dict[str, str]:
        """The headers that sign a request for ``scheme``: ``Date`` when missing, the body digest and the
        signature. ``url`` is the exact URL sent; ``headers`` are the request's other headers (without
        earlier signature headers). Every outgoing signature, whatever client sends it, is made here."""
        body_or_none = body if body or method not in ("GET", "HEAD") else None
        if scheme == "rfc9421":
            return self._rfc9421.sign(method, url, headers, body_or_none)
        return cavage.sign_request(
            method, url, headers, body_or_none, key_id=self._key_id, private_key=self._private_key
        )

    def knocks(self, host: str) -> Generator[Scheme, int, None]:
        """The double-knock for one request to ``host``: yields the scheme to sign with, receives the
        status code of the answer, and yields cavage once more when an unknown host refused RFC 9421.
        Updates the scheme memory as answers come in. Shared by ``auth_flow`` and the federation client's
        direct delivery path, so both negotiate the same way."""
        remembered = self._memory.get(host)
        scheme: Scheme = remembered or "rfc9421"
        status = yield scheme
        if status not in _REJECTED:
            self._memory.remember(host, scheme)
            return
        if remembered is not None:
            self._memory.forget(host)
            return
        status = yield "cavage"
        if status not in _REJECTED:
            self._memory.remember(host, "cavage")

    def sign(self, request: httpx.Request, scheme: Scheme) -> None:
        """Add signature headers for ``scheme`` to ``request`` (replacing earlier ones)."""
        for name in _SIGNATURE_HEADERS:
            if name in request.headers:
                del request.headers[name]
        request.headers.update(
            self.signature_headers(request.method, str(request.url), request.headers, request.content, scheme)
        )

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Sign, send, and on 400/401 from a host of unknown scheme re-sign with draft-cavage."""
        knocks = self.knocks(request.url.netloc.decode("ascii"))
        scheme = next(knocks)
        while True:
            self.sign(request, scheme)
            response = yield request
            try:
                scheme = knocks.send(response.status_code)
            except StopIteration:
                return
