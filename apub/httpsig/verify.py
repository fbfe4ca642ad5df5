"""One entry point to verify a signed incoming request, whichever scheme signed it.

``verify_request(method, url, headers, body, key_lookup)`` returns the ``Signer`` (the key
and the actor that owns it) or raises one error class per failure (see ``apub.errors``):

1. Scheme: RFC 9421 when ``Signature-Input`` is present, otherwise draft-cavage
   (``Signature`` or ``Authorization: Signature``). Neither → ``SignatureMissing``.
2. Coverage (``SignatureMalformed`` when short): the request line — ``(request-target)``, or
   ``@method`` with ``@target-uri`` or with ``@authority``/``host`` and ``@path``/
   ``@request-target`` —, the host, a date (``date`` header or ``created`` parameter), and the
   body digest (``digest``/``content-digest``) on requests with a body.
   Bound to this server: the ``host`` of the signing string (draft-cavage, or an RFC 9421 ``host``
   field) is read as ``url``'s authority — the configured public URL — whatever ``Host`` header arrived
   (a proxy may rewrite it), so a signature made for another server never verifies here (``@target-uri``
   and ``@authority`` are derived from ``url`` anyway). A ``Host`` that names us in another spelling
   (case, default port) is used as received, since that is what the sender signed.
3. Time: the date must lie within ``window`` of now, in both directions, and ``expires``
   (if given) must not have passed → ``SignatureExpired``.
4. Digest checked against the body before any key is fetched → ``DigestMismatch``.
5. Key by keyId through the injected ``key_lookup`` (``KeyUnavailable`` passes through);
   if the signature does not verify, the key is looked up once more with ``refresh=True``
   (the sender may have rotated it) before giving up with ``SignatureInvalid``.

Cheap checks run before the key lookup so that junk requests never cause remote fetches.

The draft-cavage path is the inbox's hot path and is written for it (``bench/signatures.py``
measures it against a bare RSA verify): headers are read once into a bytes table
(``header_table``), the signing string is built as bytes from the values as received, and a
``PublicKeyRecord`` carries its RSA verify method ready to call.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from apub.digest import verify_content_digest_header, verify_digest_header
from apub.errors import (
    DigestMismatch,
    SignatureExpired,
    SignatureInvalid,
    SignatureMalformed,
    SignatureMissing,
)
from apub.httpsig import algorithms, cavage, rfc9421
from apub.httpsig.headers import header_table, lowercase_headers, parse_http_date
from apub.keys import PublicKey

__all__ = ["PublicKeyRecord", "KeyLookup", "Signer", "verify_request", "DEFAULT_WINDOW"]

DEFAULT_WINDOW = timedelta(hours=1)
# Tolerance for an ``expires`` in the recent past: senders' clocks drift.
_EXPIRES_SKEW_SECONDS = 60
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_PKCS1V15 = padding.PKCS1v15()
_SHA256 = hashes.SHA256()


@dataclass(frozen=True, slots=True)
class PublicKeyRecord:
    """A resolved public key: its id, the actor that owns it, the loaded key object.

    ``algorithm`` optionally pins the RFC 9421 algorithm for this key (e.g.
    ``rsa-pss-sha512``); ``None`` lets the key type decide.
    """

    key_id: str
    owner: str
    public_key: PublicKey
    algorithm: str | None = None
    # The key's bound ``verify`` when it is an RSA key, else None: an isinstance check against
    # cryptography's ABC costs ~0.3 µs, paid here once per key instead of once per request.
    rsa_verify: Callable[..., None] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rsa_verify = self.public_key.verify if isinstance(self.public_key, rsa.RSAPublicKey) else None
        object.__setattr__(self, "rsa_verify", rsa_verify)


class KeyLookup(Protocol):
    """Resolves a keyId to a ``PublicKeyRecord``; ``refresh=True`` bypasses any cache."""

    async def __call__(self, key_id: str, *, refresh: bool = False) -> PublicKeyRecord: ...


@dataclass(slots=True)
class Signer:
    """Who signed a verified request: the key id, its owner actor URI, and the scheme used.

    Not frozen because a frozen dataclass costs a microsecond per request to build.
    """

    key_id: str
    owner: str
    scheme: Literal["cavage", "rfc9421"]


def _path_and_query(url: str) -> str:
    # urlsplit costs a microsecond we do not need: everything after the authority, minus fragment.
    scheme_end = url.find("://")
    path_start = url.find("/", scheme_end + 3) if scheme_end >= 0 else 0
    target = url[path_start:] if path_start >= 0 else "/"
    fragment = target.find("#")
    if fragment >= 0:
        target = target[:fragment]
    if target.startswith("?"):
        return "/" + target
    return target or "/"


def _authority_of(url: str) -> str:
    # As _path_and_query: string slicing, no urlsplit, on the hot path.
    scheme_end = url.find("://")
    start = scheme_end + 3 if scheme_end >= 0 else 0
    end = url.find("/", start)
    return url[start:] if end < 0 else url[start:end]


def _names_us(received: str, url: str, ours: str) -> bool:
    """Whether a received ``Host`` value is our authority in another spelling (case, default port)."""
    scheme = url[: url.find(":")].lower()
    return rfc9421.authority(scheme, received) == rfc9421.authority(scheme, ours)


def _check_time(signed_at: int, expires: int | None, now: float, window: float) -> None:
    if signed_at < now - window:
        raise SignatureExpired("signature date is too old")
    if signed_at > now + window:
        raise SignatureExpired("signature date is in the future")
    if expires is not None and expires < now - _EXPIRES_SKEW_SECONDS:
        raise SignatureExpired("signature has expired")


def _date_header(headers: Mapping[str, str]) -> int:
    value = headers.get("date")
    if value is None:
        raise SignatureMalformed("date is signed but the Date header is missing")
    try:
        return parse_http_date(value)
    except ValueError:
        raise SignatureMalformed("Date header is not an HTTP date") from None


def _check_digest(
    covered: frozenset[str] | tuple[str, ...], headers: Mapping[str, str], body: bytes, has_body: bool
) -> None:
    if "digest" in covered:
        value = headers.get("digest")
        if value is None:
            raise DigestMismatch("Digest is signed but missing")
        verify_digest_header(value, body)
    elif "content-digest" in covered:
        value = headers.get("content-digest")
        if value is None:
            raise DigestMismatch("Content-Digest is signed but missing")
        verify_content_digest_header(value, body)
    elif has_body:
        if headers.get("digest") is None and headers.get("content-digest") is None:
            raise DigestMismatch("request has a body but no Digest or Content-Digest header")
        raise SignatureMalformed("the body digest is not covered by the signature")


def _text_headers(table: dict[bytes, bytes], names: tuple[str, ...]) -> dict[str, str]:
    # The slow paths (odd digests, missing headers) take the str helpers shared with RFC 9421.
    return {
        name: value.decode("latin-1") for name in names if (value := table.get(name.encode())) is not None
    }


def _cavage_signature_valid(parsed: cavage.CavageSignature, message: bytes, record: PublicKeyRecord) -> bool:
    rsa_verify = record.rsa_verify
    if rsa_verify is None or parsed.algorithm not in ("rsa-sha256", "hs2019"):
        return cavage.verify_signature(parsed, message, record.public_key)
    try:
        rsa_verify(parsed.signature, message, _PKCS1V15, _SHA256)
    except InvalidSignature:
        # hs2019 with an RSA key may also be RSASSA-PSS SHA-512, the draft's letter.
        return parsed.algorithm == "hs2019" and algorithms.verify(
            algorithms.RSA_PSS_SHA512, record.public_key, parsed.signature, message
        )
    return True


async def verify_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    key_lookup: KeyLookup,
    *,
    now: datetime | None = None,
    window: timedelta = DEFAULT_WINDOW,
) -> Signer:
    """Verify a signed request and return its ``Signer``; raise a ``SignatureError`` subclass.

    ``url`` is the absolute URL the sender addressed: our configured public base URL, path and query (its
    authority is the host a signature must name).
    ``headers`` is a case-insensitive mapping (Starlette/httpx ``Headers``) or a plain
    dict. ``now`` defaults to the current time; ``window`` bounds the clock difference.
    """
    table = header_table(headers)
    now_seconds = time.time() if now is None else now.timestamp()
    window_seconds = window.total_seconds()
    has_body = bool(body) or method.upper() in _BODY_METHODS
    if b"signature-input" in table:
        return await _verify_rfc9421(
            method, url, lowercase_headers(headers), body, has_body, key_lookup, now_seconds, window_seconds
        )

    value = table.get(b"signature")
    if value is None:
        value = table.get(b"authorization")
        if value is None or value[:10].lower() != b"signature ":
            raise SignatureMissing("request carries no HTTP signature")
    parsed = cavage.parse_signature_header(value.decode(errors="replace"))
    covered = parsed.headers
    if "(request-target)" not in covered:
        raise SignatureMalformed("signature must cover (request-target)")
    if "host" not in covered:
        raise SignatureMalformed("signature must cover host")
    if "date" in covered:
        value = table.get(b"date")
        if value is None:
            raise SignatureMalformed("date is signed but the Date header is missing")
        try:
            signed_at = parse_http_date(value.decode("latin-1"))
        except ValueError:
            raise SignatureMalformed("Date header is not an HTTP date") from None
    elif "(created)" in covered and parsed.created is not None:
        signed_at = parsed.created
    else:
        raise SignatureMalformed("signature must cover date or (created)")
    if (
        not now_seconds - window_seconds <= signed_at <= now_seconds + window_seconds
        or parsed.expires is not None
    ):
        _check_time(signed_at, parsed.expires, now_seconds, window_seconds)
    value = table.get(b"digest") if "digest" in covered else None
    if value is not None and value[:8] == b"SHA-256=" and b"," not in value:
        # Fast path for the one form Mastodon and nearly everyone send.
        try:
            expected = binascii.a2b_base64(value[8:], strict_mode=True)
        except (binascii.Error, ValueError):
            raise DigestMismatch("Digest value is not base64") from None
        if not hmac.compare_digest(expected, hashlib.sha256(body).digest()):
            raise DigestMismatch("SHA-256 digest does not match the body")
    else:
        _check_digest(covered, _text_headers(table, ("digest", "content-digest")), body, has_body)
    ours = _authority_of(url)
    received = table.get(b"host")
    if received is None or (
        received != ours.encode() and not _names_us(received.decode("latin-1"), url, ours)
    ):
        table[b"host"] = ours.encode()  # the sender signed another host: the signature will not verify
    message = cavage.signing_message(
        covered, method, _path_and_query(url), table, parsed.created, parsed.expires
    )

    record = await key_lookup(parsed.key_id)
    if not _cavage_signature_valid(parsed, message, record):
        record = await key_lookup(parsed.key_id, refresh=True)
        if not _cavage_signature_valid(parsed, message, record):
            raise SignatureInvalid("signature does not verify with the signer's key")
    return Signer(parsed.key_id, record.owner, "cavage")


def _rfc9421_coverage_error(signature: rfc9421.MessageSignature, has_body: bool) -> str | None:
    names = signature.covered_names
    if signature.key_id is None:
        return "signature has no keyid parameter"
    if "@method" not in names:
        return "signature must cover @method"
    has_authority = "@authority" in names or "host" in names
    has_path = "@path" in names or "@request-target" in names
    if "@target-uri" not in names and not (has_authority and has_path):
        return "signature must cover @target-uri or @authority and @path"
    if signature.created is None and "date" not in names:
        return "signature must have a created parameter or cover date"
    if has_body and "content-digest" not in names and "digest" not in names:
        return "signature must cover content-digest on a request with a body"
    return None


async def _verify_rfc9421(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    has_body: bool,
    key_lookup: KeyLookup,
    now: float,
    window: float,
) -> Signer:
    signature_header = headers.get("signature")
    if signature_header is None:
        raise SignatureMalformed("Signature-Input without Signature")
    signatures = rfc9421.parse_signatures(headers["signature-input"], signature_header)
    # A request may carry several signatures (e.g. one added by a proxy); use the first
    # that covers what we require.
    errors = [_rfc9421_coverage_error(candidate, has_body) for candidate in signatures]
    chosen = next((sig for sig, error in zip(signatures, errors, strict=True) if error is None), None)
    if chosen is None:
        if has_body and headers.get("content-digest") is None and headers.get("digest") is None:
            raise DigestMismatch("request has a body but no Content-Digest header")
        raise SignatureMalformed(errors[0] or "no usable signature")
    key_id = chosen.key_id
    assert key_id is not None
    signed_at = chosen.created if chosen.created is not None else _date_header(headers)
    _check_time(signed_at, chosen.expires, now, window)
    _check_digest(chosen.covered_names, headers, body, has_body)
    if "host" in chosen.covered_names:
        ours, received = _authority_of(url), headers.get("host")
        if received is None or (received != ours and not _names_us(received, url, ours)):
            headers = {**{name.lower(): value for name, value in headers.items()}, "host": ours}
    base = rfc9421.signature_base(chosen.components, chosen.signature_params, method, url, headers)

    record = await key_lookup(key_id)
    if not rfc9421.verify_signature(chosen, base, record.public_key, record.algorithm):
        record = await key_lookup(key_id, refresh=True)
        if not rfc9421.verify_signature(chosen, base, record.public_key, record.algorithm):
            raise SignatureInvalid("signature does not verify with the signer's key")
    return Signer(key_id=key_id, owner=record.owner, scheme="rfc9421")
