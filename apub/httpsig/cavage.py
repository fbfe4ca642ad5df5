"""draft-cavage HTTP Signatures (draft-cavage-http-signatures-12), as the fediverse uses them.

The sender lists the header names it signs, builds a *signing string* of ``name: value``
lines in that order (lower-case names, ``\\n`` separated, no trailing newline) and signs it::

    Signature: keyId="https://example.com/users/alice#main-key",algorithm="rsa-sha256",
               headers="(request-target) host date digest content-type",signature="base64..."

Pseudo-headers: ``(request-target)`` is ``<lower-case method> <path>[?query]``;
``(created)`` and ``(expires)`` are the integer ``created``/``expires`` parameters (Mastodon
accepts them with ``hs2019``). Without a ``headers`` parameter only ``date`` is signed.

Algorithms: ``rsa-sha256`` (PKCS#1 v1.5 with SHA-256, what Mastodon sends), ``rsa-sha512``,
``ed25519``, and ``hs2019``, which defers to the key: with an RSA key it is PKCS#1 v1.5
SHA-256 in practice (Mastodon, GoToSocial), RSASSA-PSS SHA-512 in the draft's letter, so
both are tried. The header may also arrive as ``Authorization: Signature keyId=...``.
Parsing is tolerant: spaces around ``=`` and ``,``, unquoted numbers, line folding.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from apub.digest import digest_header
from apub.errors import SignatureMalformed
from apub.httpsig import algorithms
from apub.httpsig.headers import format_http_date, lowercase_headers
from apub.keys import PrivateKey, PublicKey

__all__ = [
    "CavageSignature",
    "parse_signature_header",
    "key_id_of",
    "signing_string",
    "signing_message",
    "verify_signature",
    "sign_request",
]

# One ``name = "value"`` or ``name = token`` pair; separators between pairs are skipped.
_PARAM = re.compile(r'([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"([^"]*)"|([^\s",]+))')
# The exact form and order Mastodon sends (and most others copy): one match in C is four
# times cheaper than splitting by hand, and this runs once per incoming request.
_MASTODON_FORM = re.compile(r'keyId="([^"]+)",algorithm="([^"]*)",headers="([^"]*)",signature="([^"]+)"')
_PKCS1V15 = padding.PKCS1v15()
_SHA256 = hashes.SHA256()
_SHA512 = hashes.SHA512()
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


@dataclass(slots=True)
class CavageSignature:
    """A parsed ``Signature`` header: who signed, how, which headers, and the signature bytes.

    Not frozen: frozen dataclasses cost four times as much to build, and one is built per
    incoming request. Treat instances as immutable.
    """

    key_id: str
    algorithm: str  # lower-cased; "hs2019" when the header names none
    headers: tuple[str, ...]  # lower-cased, in signing order
    signature: bytes
    created: int | None = None
    expires: int | None = None


def _split_params(value: str) -> dict[str, str]:
    # Fast path for the canonical form every implementation sends: name="value",... ; anything
    # else (spaces, unquoted numbers, line folding) goes through the tolerant regex.
    if value.endswith('"') and '"\n' not in value and '" ' not in value:
        params = {}
        for part in value[:-1].split('",'):
            name, separator, quoted = part.partition('="')
            if not separator or not name.isalnum():
                break
            params[name.lower()] = quoted
        else:
            return params
    return {
        name.lower(): quoted if quoted or not bare else bare for name, quoted, bare in _PARAM.findall(value)
    }


def key_id_of(value: str) -> str:
    """The keyId of a ``Signature`` header, exactly as ``parse_signature_header`` reads it, without decoding
    the rest (the inbox checks the key's host before verifying anything). Raises ``SignatureMalformed``."""
    usual = _MASTODON_FORM.fullmatch(_without_scheme(value))
    if usual is not None:
        return usual.group(1)
    return parse_signature_header(value).key_id


def _without_scheme(value: str) -> str:
    """The parameters of a ``Signature`` header, or of ``Authorization: Signature ...``."""
    return value[10:] if value.startswith(("Signature ", "signature ")) else value


def parse_signature_header(value: str) -> CavageSignature:
    """Parse a ``Signature`` (or ``Authorization: Signature ...``) header value.

    Raises ``SignatureMalformed`` when keyId or signature is missing, the signature is not
    base64, or created/expires are not integers.
    """
    value = _without_scheme(value)
    created: str | int | None
    expires: str | int | None
    usual = _MASTODON_FORM.fullmatch(value)
    if usual is not None:
        key_id, algorithm, header_list, encoded = usual.groups()
        created = expires = None
    else:
        params = _split_params(value)
        key_id, algorithm, header_list = params.get("keyid"), params.get("algorithm"), params.get("headers")
        encoded, created, expires = params.get("signature"), params.get("created"), params.get("expires")
        if not key_id or not encoded:
            raise SignatureMalformed("Signature header needs keyId and signature")
    try:
        signature = binascii.a2b_base64(encoded, strict_mode=True)
    except (binascii.Error, ValueError):
        try:
            # Folded headers may carry whitespace inside the base64 text.
            signature = binascii.a2b_base64("".join(encoded.split()), strict_mode=True)
        except (binascii.Error, ValueError):
            raise SignatureMalformed("signature is not base64") from None
    names = tuple(header_list.lower().split()) if header_list is not None else ("date",)
    if not names:
        raise SignatureMalformed("Signature header lists no headers")
    if created is not None or expires is not None:
        try:
            created = int(created) if created is not None else None
            expires = int(expires) if expires is not None else None
        except ValueError:
            raise SignatureMalformed("created/expires must be integers") from None
    # Positional: keyword construction costs three times as much, once per request.
    return CavageSignature(
        key_id, "hs2019" if algorithm is None else algorithm.lower(), names, signature, created, expires
    )


def signing_string(
    covered: tuple[str, ...],
    method: str,
    path_and_query: str,
    headers: Mapping[str, str],
    created: int | None = None,
    expires: int | None = None,
) -> str:
    """Build the signing string for the covered header names.

    ``headers`` must answer lower-case names. Raises ``SignatureMalformed`` when a covered
    header (or the created/expires parameter behind a pseudo-header) is absent.
    """
    # Only the covered names, through the mapping's own get: its case and duplicate rules apply.
    table = {
        name.encode(): value.encode()
        for name in covered
        if name[0] != "(" and (value := headers.get(name)) is not None
    }
    return signing_message(covered, method, path_and_query, table, created, expires).decode()


def signing_message(
    covered: tuple[str, ...],
    method: str,
    path_and_query: str,
    headers: Mapping[bytes, bytes],
    created: int | None = None,
    expires: int | None = None,
) -> bytes:
    """Build the signing string as the bytes that are signed, from a ``header_table``.

    ``headers`` maps lower-case name bytes to value bytes (``headers.header_table``), so the
    message holds header values exactly as received. Raises ``SignatureMalformed`` like
    ``signing_string``.
    """
    lines = []
    for name in covered:
        if name[0] != "(":
            encoded_name = name.encode()
            value = headers.get(encoded_name)
            if value is None:
                raise SignatureMalformed(f"signed header {name!r} is missing from the request")
            lines.append(encoded_name + b": " + value.strip())
        elif name == "(request-target)":
            lines.append(f"(request-target): {method.lower()} {path_and_query}".encode())
        elif name == "(created)":
            if created is None:
                raise SignatureMalformed("(created) is signed but the created parameter is missing")
            lines.append(b"(created): %d" % created)
        elif name == "(expires)":
            if expires is None:
                raise SignatureMalformed("(expires) is signed but the expires parameter is missing")
            lines.append(b"(expires): %d" % expires)
        else:
            raise SignatureMalformed(f"unknown pseudo-header {name}")
    return b"\n".join(lines)


def verify_signature(parsed: CavageSignature, message: bytes, public_key: PublicKey) -> bool:
    """Return whether ``parsed.signature`` over ``message`` (the signing string) is valid."""
    algorithm = parsed.algorithm
    signature = parsed.signature
    if isinstance(public_key, rsa.RSAPublicKey):
        if algorithm == "rsa-sha256":
            try:
                public_key.verify(signature, message, _PKCS1V15, _SHA256)
            except InvalidSignature:
                return False
            return True
        if algorithm == "hs2019":
            return algorithms.verify(
                algorithms.RSA_V1_5_SHA256, public_key, signature, message
            ) or algorithms.verify(algorithms.RSA_PSS_SHA512, public_key, signature, message)
        if algorithm == "rsa-sha512":
            try:
                public_key.verify(signature, message, _PKCS1V15, _SHA512)
            except InvalidSignature:
                return False
            return True
        return False
    if algorithm in ("hs2019", "ed25519"):
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            # hs2019 ECDSA signatures are DER encoded, unlike RFC 9421's r || s.
            try:
                public_key.verify(signature, message, _ECDSA_SHA256)
            except InvalidSignature:
                return False
            return True
        return algorithms.verify(algorithms.ED25519, public_key, signature, message)
    return False


def sign_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    *,
    key_id: str,
    private_key: PrivateKey,
    algorithm: str = "rsa-sha256",
    now: float | None = None,
) -> dict[str, str]:
    """Sign a request the way Mastodon expects and return the headers to add to it.

    Returns ``Date`` and ``Host`` when the request lacks them, ``Digest`` when it has a
    body, and ``Signature``. A request with a body signs ``(request-target) host date digest
    content-type``; one without signs ``(request-target) host date accept``; content-type /
    accept are skipped when the request has none. ``algorithm`` is ``rsa-sha256`` or
    ``hs2019`` (RSA keys, PKCS#1 v1.5 SHA-256 either way) or ``ed25519``/``hs2019`` with an
    Ed25519 key.
    """
    existing = lowercase_headers(headers)
    split = urlsplit(url)
    added: dict[str, str] = {}
    if existing.get("date") is None:
        added["date"] = format_http_date(time.time() if now is None else now)
    if existing.get("host") is None:
        added["host"] = split.netloc
    if body is not None and (body or method.upper() not in ("GET", "HEAD")):
        added["digest"] = digest_header(body)
        wanted = ("(request-target)", "host", "date", "digest", "content-type")
    else:
        wanted = ("(request-target)", "host", "date", "accept")

    def lookup(name: str) -> str | None:
        return added.get(name) or existing.get(name)

    covered = tuple(name for name in wanted if name.startswith("(") or lookup(name) is not None)
    path_and_query = (split.path or "/") + (f"?{split.query}" if split.query else "")
    merged = {name: value for name in covered if (value := lookup(name)) is not None}
    message = signing_string(covered, method, path_and_query, merged).encode()
    if isinstance(private_key, rsa.RSAPrivateKey):
        raw = algorithms.sign(algorithms.RSA_V1_5_SHA256, private_key, message)
    else:
        raw = algorithms.sign(algorithms.ED25519, private_key, message)
    encoded = base64.b64encode(raw).decode("ascii")
    added["signature"] = (
        f'keyId="{key_id}",algorithm="{algorithm}",headers="{" ".join(covered)}",signature="{encoded}"'
    )
    return {name.title() if name != "digest" else "Digest": value for name, value in added.items()}
