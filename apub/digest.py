"""Body digests for signed requests: the legacy ``Digest`` header and RFC 9530 ``Content-Digest``.

A signature covers the digest header, not the body, so a verifier must also check that the
digest matches the bytes it received. Two header forms exist in the fediverse:

* ``Digest: SHA-256=<base64>`` (RFC 3230, used with draft-cavage signatures by Mastodon and
  most servers). The algorithm name is case-insensitive; several ``alg=value`` pairs may be
  listed, separated by commas.
* ``Content-Digest: sha-256=:<base64>:`` (RFC 9530, a structured-field dictionary of byte
  sequences, used with RFC 9421 signatures). ``sha-256`` and ``sha-512`` are supported.

Verification rule for both: at least one supported algorithm must be present and every
supported algorithm present must match; unknown algorithms are ignored. Comparison is
constant time (``hmac.compare_digest``). Every failure raises ``DigestMismatch``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

import http_sf

from apub.errors import DigestMismatch

__all__ = [
    "digest_header",
    "content_digest_header",
    "verify_digest_header",
    "verify_content_digest_header",
]

# Legacy Digest names (upper-cased for lookup) and RFC 9530 names map to hashlib names.
_DIGEST_ALGORITHMS = {"SHA-256": "sha256", "SHA-512": "sha512"}
_DIGEST_CONSTRUCTORS = {"SHA-256": hashlib.sha256, "SHA-512": hashlib.sha512}
_CONTENT_DIGEST_ALGORITHMS = {"sha-256": "sha256", "sha-512": "sha512"}


def digest_header(body: bytes, algorithm: str = "SHA-256") -> str:
    """Return a ``Digest`` header value for ``body``, e.g. ``SHA-256=X48E9q...=``."""
    hash_name = _DIGEST_ALGORITHMS[algorithm.upper()]
    encoded = base64.b64encode(hashlib.new(hash_name, body).digest()).decode("ascii")
    return f"{algorithm.upper()}={encoded}"


def content_digest_header(body: bytes, algorithm: str = "sha-256") -> str:
    """Return an RFC 9530 ``Content-Digest`` header value, e.g. ``sha-256=:X48E9q...=:``."""
    hash_name = _CONTENT_DIGEST_ALGORITHMS[algorithm]
    encoded = base64.b64encode(hashlib.new(hash_name, body).digest()).decode("ascii")
    return f"{algorithm}=:{encoded}:"


def verify_digest_header(value: str, body: bytes) -> None:
    """Check a legacy ``Digest`` header against ``body``; raise ``DigestMismatch`` if it fails."""
    checked = False
    for member in value.split(","):
        name, separator, encoded = member.partition("=")
        if not separator:
            raise DigestMismatch("malformed Digest header")
        hash_constructor = _DIGEST_CONSTRUCTORS.get(name.strip().upper())
        if hash_constructor is None:
            continue
        try:
            expected = binascii.a2b_base64(encoded.strip(), strict_mode=True)
        except (binascii.Error, ValueError):
            raise DigestMismatch("Digest value is not base64") from None
        if not hmac.compare_digest(expected, hash_constructor(body).digest()):
            raise DigestMismatch(f"{name.strip()} digest does not match the body")
        checked = True
    if not checked:
        raise DigestMismatch("Digest header has no supported algorithm (SHA-256, SHA-512)")


def verify_content_digest_header(value: str, body: bytes) -> None:
    """Check an RFC 9530 ``Content-Digest`` header against ``body``; raise ``DigestMismatch``."""
    try:
        members = http_sf.parse(value.encode("ascii"), tltype="dictionary")
    except (http_sf.StructuredFieldError, ValueError, UnicodeError):
        raise DigestMismatch("malformed Content-Digest header") from None
    assert isinstance(members, dict)
    checked = False
    for name, (expected, _params) in members.items():
        hash_name = _CONTENT_DIGEST_ALGORITHMS.get(name)
        if hash_name is None:
            continue
        if not isinstance(expected, bytes):
            raise DigestMismatch(f"Content-Digest member {name} is not a byte sequence")
        if not hmac.compare_digest(expected, hashlib.new(hash_name, body).digest()):
            raise DigestMismatch(f"{name} content digest does not match the body")
        checked = True
    if not checked:
        raise DigestMismatch("Content-Digest header has no supported algorithm (sha-256, sha-512)")
