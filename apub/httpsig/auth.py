"""Outgoing request signing as an ``httpx.Auth``, with per-host scheme negotiation.

``SignatureAuth`` signs every request at send time (after the body is final), adding
``Date``, a body digest and the signature headers. Which scheme a remote verifies is not
advertised, so it *double-knocks*: the rules — which scheme first, when to knock again in the
same request, what an answer proves and for how long it is remembered — are in
``apub.httpsig.knock`` (and docs/SIGNATURES.md); this module signs what they choose.

Speed: a fan-out signs thousands of requests with one key, so RFC 9421 signing goes through
``_Rfc9421Signer``, which makes exactly what ``rfc9421.sign_request`` makes with its defaults
(tests compare the two byte for byte) but serializes the covered-component list and the
``keyid``/``alg`` parameters once per key rather than once per request (structured-field
serialization checks strings character by character), reuses the ``Date`` value within a
second and the ``Content-Digest`` of the body it signed last (a fan-out sends one body to
every inbox).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Generator, Mapping

import httpx
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from http_sf.innerlist import ser_innerlist

from apub.digest import content_digest_header
from apub.errors import SignatureMalformed
from apub.httpsig import algorithms, cavage, rfc9421
from apub.httpsig.headers import format_http_date, lowercase_headers
from apub.httpsig.knock import Answer, Knock, SchemeMemory, SignatureKey, knocks, scheme_host
from apub.keys import PrivateKey

__all__ = ["SchemeMemory", "SignatureAuth"]

_SIGNATURE_HEADERS = ("signature", "signature-input", "content-digest", "digest")


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
    """Sign requests as an actor: the RSA key (``publicKey``) for both schemes, the optional Ed25519 key
    (``assertionMethod`` Multikey, FEP-521a) for RFC 9421 when a host asks for it."""

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
        self._keys: dict[SignatureKey, tuple[str, PrivateKey]] = {"rsa": (key_id, private_key)}
        if ed25519_key_id is not None and ed25519_private_key is not None:
            self._keys["ed25519"] = (ed25519_key_id, ed25519_private_key)
        self._key_ids: dict[SignatureKey, str | None] = {key: pair[0] for key, pair in self._keys.items()}
        self._rfc9421 = {key: _Rfc9421Signer(*pair) for key, pair in self._keys.items()}

    def signature_headers(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None, knock: Knock
    ) -> dict[str, str]:
        """The headers that sign a request as ``knock`` says: ``Date`` when missing, the body digest and the
        signature. ``url`` is the exact URL sent; ``headers`` are the request's other headers (without
        earlier signature headers). Every outgoing signature, whatever client sends it, is made here."""
        body_or_none = body if body or method not in ("GET", "HEAD") else None
        if knock.scheme == "cavage":
            return cavage.sign_request(
                method, url, headers, body_or_none, key_id=self._key_id, private_key=self._private_key
            )
        if knock.is_default:
            return self._rfc9421[knock.key].sign(method, url, headers, body_or_none)
        key_id, private_key = self._keys[knock.key]
        return rfc9421.sign_request(
            method,
            url,
            headers,
            body_or_none,
            key_id=key_id,
            private_key=private_key,
            components=knock.components,
            label=knock.label,
            tag=knock.tag,
            nonce=knock.nonce,
        )

    def knocks(self, authority: str, method: str) -> Generator[Knock, Answer, None]:
        """The double-knock of one request (``apub.httpsig.knock.knocks``) with this signer's keys: yields how
        to sign, is sent each answer's (status, ``Accept-Signature``). Shared by ``auth_flow`` and the
        federation client's direct delivery path, so both negotiate the same way."""
        return knocks(self._memory, scheme_host(authority), method, self._key_ids)

    def sign(self, request: httpx.Request, knock: Knock) -> None:
        """Add signature headers for ``knock`` to ``request`` (replacing earlier ones)."""
        for name in _SIGNATURE_HEADERS:
            if name in request.headers:
                del request.headers[name]
        # The fragment is never sent (a keyId's "#main-key"), so it is not signed either: RFC 9421's
        # @target-uri is the URL as the server receives it.
        url = request.url.copy_with(fragment=None) if request.url.fragment else request.url
        request.headers.update(
            self.signature_headers(request.method, str(url), request.headers, request.content, knock)
        )

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Sign, send, and knock again with the other signature when the answer calls for it."""
        flow = self.knocks(request.url.netloc.decode("ascii"), request.method)
        knock = next(flow)
        while True:
            self.sign(request, knock)
            response = yield request
            try:
                knock = flow.send((response.status_code, response.headers.get("accept-signature")))
            except StopIteration:
                return
