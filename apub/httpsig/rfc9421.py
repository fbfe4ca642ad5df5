"""RFC 9421 HTTP Message Signatures for requests.

A signed request carries two structured-field dictionaries keyed by a label::

    Signature-Input: sig1=("@method" "@target-uri" "content-digest");created=1618884473;keyid="..."
    Signature: sig1=:base64-signature:

The covered components are derived ones (``@method``, ``@target-uri``, ``@authority``,
``@scheme``, ``@request-target``, ``@path``, ``@query``, ``@query-param;name=...``) and
header fields by lower-case name (optionally with ``;sf``, ``;key=...`` or ``;bs``). The
*signature base* is one ``"<component>": <value>`` line per covered component, in order,
then ``"@signature-params": <the serialized inner list with its parameters>``; lines are
joined with ``\\n`` and the base is signed as ASCII.

Parameters: ``created`` and ``expires`` (Unix seconds), ``keyid``, ``alg``, ``nonce``, ``tag``.
Algorithms: ``rsa-v1_5-sha256``, ``rsa-pss-sha512``, ``ecdsa-p256-sha256`` (raw ``r || s``)
and ``ed25519``; when ``alg`` is absent the key (and the key record's hint) decides.
Structured fields are parsed and serialized with ``http_sf`` (RFC 9651).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote_plus, urlsplit

import http_sf
from cryptography.hazmat.primitives.asymmetric import rsa
from http_sf.innerlist import ser_innerlist
from http_sf.item import ser_item

from apub.digest import content_digest_header
from apub.errors import SignatureMalformed
from apub.httpsig import algorithms
from apub.httpsig.headers import format_http_date, lowercase_headers
from apub.keys import PrivateKey, PublicKey

__all__ = [
    "MessageSignature",
    "parse_signatures",
    "authority",
    "component_value",
    "signature_base",
    "verify_signature",
    "sign_request",
]

_DEFAULT_PORTS = {"http": "80", "https": "443"}
_STRING_PARAMS = ("keyid", "alg", "nonce", "tag")
_INTEGER_PARAMS = ("created", "expires")


@dataclass(frozen=True, slots=True)
class MessageSignature:
    """One labelled signature: covered components, parameters and signature bytes."""

    label: str
    components: tuple[tuple[str, dict[str, Any]], ...]
    params: dict[str, Any]
    signature: bytes
    signature_params: str = field(repr=False)  # serialized inner list, the base's last line

    @property
    def key_id(self) -> str | None:
        """The ``keyid`` parameter, if any."""
        return self.params.get("keyid")

    @property
    def alg(self) -> str | None:
        """The ``alg`` parameter, if any."""
        return self.params.get("alg")

    @property
    def created(self) -> int | None:
        """The ``created`` parameter (Unix seconds), if any."""
        return self.params.get("created")

    @property
    def expires(self) -> int | None:
        """The ``expires`` parameter (Unix seconds), if any."""
        return self.params.get("expires")

    @property
    def covered_names(self) -> frozenset[str]:
        """Names of the covered components, parameters dropped."""
        return frozenset(name for name, _ in self.components)


def _parse_dictionary(value: str, header: str) -> dict[str, Any]:
    try:
        parsed = http_sf.parse(value.encode("ascii"), tltype="dictionary")
    except (http_sf.StructuredFieldError, ValueError, UnicodeError):
        raise SignatureMalformed(f"{header} is not a valid structured-field dictionary") from None
    assert isinstance(parsed, dict)
    return parsed


def parse_signatures(signature_input: str, signature: str) -> list[MessageSignature]:
    """Parse ``Signature-Input`` and ``Signature`` into one ``MessageSignature`` per label.

    Raises ``SignatureMalformed`` on syntax errors, a label present in one header only,
    non-string component names, duplicate components or mistyped parameters.
    """
    inputs = _parse_dictionary(signature_input, "Signature-Input")
    values = _parse_dictionary(signature, "Signature")
    result = []
    for label, (members, params) in inputs.items():
        if not isinstance(members, list):
            raise SignatureMalformed(f"Signature-Input {label} is not an inner list")
        if label not in values or not isinstance(values[label][0], bytes):
            raise SignatureMalformed(f"no byte-sequence Signature for label {label}")
        seen = set()
        for name, component_params in members:
            if not isinstance(name, str) or name != name.lower():
                raise SignatureMalformed(f"component {name!r} must be a lower-case string")
            identity = ser_item((name, component_params))
            if identity in seen:
                raise SignatureMalformed(f"component {identity} is covered twice")
            seen.add(identity)
        for name in _STRING_PARAMS:
            if name in params and not isinstance(params[name], str):
                raise SignatureMalformed(f"parameter {name} must be a string")
        for name in _INTEGER_PARAMS:
            if name in params and (not isinstance(params[name], int) or isinstance(params[name], bool)):
                raise SignatureMalformed(f"parameter {name} must be an integer")
        result.append(
            MessageSignature(
                label=label,
                components=tuple((name, dict(p)) for name, p in members),
                params=dict(params),
                signature=values[label][0],
                signature_params=ser_innerlist((members, params)),
            )
        )
    if not result:
        raise SignatureMalformed("Signature-Input holds no signature")
    return result


def authority(scheme: str, netloc: str) -> str:
    """The ``@authority`` of a URL's scheme and netloc: lower case, userinfo and the default port dropped."""
    host_port = netloc.rpartition("@")[2].lower()
    host, colon, port = host_port.rpartition(":")
    if colon and "]" not in port and port == _DEFAULT_PORTS.get(scheme):
        return host
    return host_port


def _query_param(query: str, name: str) -> str:
    matches = []
    for pair in query.split("&") if query else ():
        key, _, value = pair.partition("=")
        if unquote_plus(key) == name:
            matches.append(quote(unquote_plus(value), safe=""))
    if len(matches) != 1:
        raise SignatureMalformed(f"query parameter {name!r} must occur exactly once")
    return matches[0]


def _field_value(name: str, params: dict[str, Any], headers: Mapping[str, str]) -> str:
    raw = headers.get(name)
    if raw is None:
        raise SignatureMalformed(f"covered header {name!r} is missing from the request")
    value = raw.strip(" \t")
    if not params:
        return value
    if set(params) == {"bs"}:
        return ":" + base64.b64encode(value.encode("latin-1")).decode("ascii") + ":"
    try:
        if set(params) == {"key"}:
            member = http_sf.parse(value.encode("ascii"), tltype="dictionary")[params["key"]]  # type: ignore[index]
            return http_sf.ser({"k": member})[2:]
        if set(params) == {"sf"}:
            tltype = "dictionary" if name in ("content-digest", "signature", "signature-input") else None
            return http_sf.ser(http_sf.parse(value.encode("ascii"), name=name, tltype=tltype))
    except (KeyError, TypeError, ValueError, UnicodeError):
        raise SignatureMalformed(f"cannot serialize covered field {name!r} as a structured field") from None
    raise SignatureMalformed(f"unsupported parameters {sorted(params)} on covered field {name!r}")


def component_value(
    name: str, params: dict[str, Any], method: str, url: str, headers: Mapping[str, str]
) -> str:
    """Return the value of one covered component of a request (RFC 9421 section 2).

    ``headers`` must answer lower-case names. Raises ``SignatureMalformed`` for an unknown
    derived component or a missing header.
    """
    if not name.startswith("@"):
        return _field_value(name, params, headers)
    if params and name != "@query-param":
        raise SignatureMalformed(f"unsupported parameters on {name}")
    if name == "@method":
        return method
    if name == "@target-uri":
        return url
    parts = urlsplit(url)
    if name == "@authority":
        return authority(parts.scheme.lower(), parts.netloc)
    if name == "@scheme":
        return parts.scheme.lower()
    if name == "@path":
        return parts.path or "/"
    if name == "@query":
        return "?" + parts.query
    if name == "@request-target":
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if name == "@query-param" and isinstance(params.get("name"), str) and len(params) == 1:
        return _query_param(parts.query, params["name"])
    raise SignatureMalformed(f"unsupported derived component {name}")


def signature_base(
    components: tuple[tuple[str, dict[str, Any]], ...],
    signature_params: str,
    method: str,
    url: str,
    headers: Mapping[str, str],
) -> bytes:
    """Build the signature base (the bytes that are signed) for a request."""
    lines = []
    for name, params in components:
        value = component_value(name, params, method, url, headers)
        if "\n" in value or "\r" in value:
            raise SignatureMalformed(f"component {name} contains a line break")
        lines.append(f"{ser_item((name, params))}: {value}")
    lines.append(f'"@signature-params": {signature_params}')
    try:
        return "\n".join(lines).encode("ascii")
    except UnicodeEncodeError:
        raise SignatureMalformed("signature base is not ASCII") from None


def verify_signature(
    parsed: MessageSignature, base: bytes, public_key: PublicKey, algorithm_hint: str | None = None
) -> bool:
    """Return whether the signature verifies over ``base`` with ``public_key``.

    The algorithm is the ``alg`` parameter if present; otherwise the key record's hint;
    otherwise every algorithm the key type allows is tried.
    """
    if parsed.alg is not None:
        if algorithm_hint is not None and parsed.alg != algorithm_hint:
            return False
        candidates: tuple[str, ...] = (parsed.alg,)
    elif algorithm_hint is not None:
        candidates = (algorithm_hint,)
    else:
        candidates = algorithms.algorithms_for_key(public_key)
    return any(algorithms.verify(alg, public_key, parsed.signature, base) for alg in candidates)


def sign_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    *,
    key_id: str,
    private_key: PrivateKey,
    algorithm: str | None = None,
    components: tuple[str, ...] | None = None,
    label: str = "sig1",
    created: int | None = None,
    expires: int | None = None,
    nonce: str | None = None,
    tag: str | None = None,
    include_alg: bool = True,
) -> dict[str, str]:
    """Sign a request with RFC 9421 and return the headers to add to it.

    Returns ``Date`` when missing, ``Content-Digest`` for a request with a body, and
    ``Signature-Input``/``Signature``. Default components: ``@method @target-uri
    @authority`` plus ``content-type content-digest date`` with a body or ``accept date``
    without (headers the request lacks are skipped). The algorithm defaults to
    ``rsa-v1_5-sha256`` for RSA keys (what Mastodon and Fedify verify) and ``ed25519``.
    """
    existing = lowercase_headers(headers)
    if algorithm is None:
        algorithm = (
            algorithms.RSA_V1_5_SHA256 if isinstance(private_key, rsa.RSAPrivateKey) else algorithms.ED25519
        )
    if created is None:
        created = int(time.time())
    added: dict[str, str] = {}
    if existing.get("date") is None:
        added["date"] = format_http_date(created)
    has_body = body is not None and (bool(body) or method.upper() not in ("GET", "HEAD"))
    if has_body and body is not None:
        added["content-digest"] = content_digest_header(body)
    merged = {**{k.lower(): v for k, v in existing.items()}, **added}
    if components is None:
        extra = ("content-type", "content-digest", "date") if has_body else ("accept", "date")
        components = ("@method", "@target-uri", "@authority") + tuple(n for n in extra if n in merged)
    params: dict[str, Any] = {"created": created}
    if expires is not None:
        params["expires"] = expires
    params["keyid"] = key_id
    if include_alg:
        params["alg"] = algorithm
    if nonce is not None:
        params["nonce"] = nonce
    if tag is not None:
        params["tag"] = tag
    covered = tuple((name, {}) for name in components)
    signature_params = ser_innerlist(([(name, {}) for name in components], params))
    base = signature_base(covered, signature_params, method, url, merged)
    raw = algorithms.sign(algorithm, private_key, base)
    added["signature-input"] = f"{label}={signature_params}"
    added["signature"] = f"{label}=:{base64.b64encode(raw).decode('ascii')}:"
    return {_CANONICAL_NAMES[name]: value for name, value in added.items()}


_CANONICAL_NAMES = {
    "date": "Date",
    "content-digest": "Content-Digest",
    "signature-input": "Signature-Input",
    "signature": "Signature",
}
