"""Errors raised by the apub layer.

Every class carries ``status_code``: the HTTP status the inbox (or any HTTP layer that
calls into apub) answers with when this error escapes. The HTTP layer maps errors to
responses in one place by reading that attribute; apub itself never builds responses.

Tree::

    ApubError (500)
    ├── SignatureError (401)
    │   ├── SignatureMissing (401)      no Signature / Signature-Input / Authorization header
    │   ├── SignatureMalformed (400)    header present but unparsable, or required parts absent
    │   ├── SignatureInvalid (401)      cryptographic check failed, or algorithm/key mismatch
    │   ├── SignatureExpired (401)      Date / created / expires outside the allowed window
    │   ├── DigestMismatch (401)        Digest / Content-Digest absent, unknown or wrong for the body
    │   └── KeyUnavailable (503)        the signing key could not be fetched or resolved right now
    ├── InvalidHost (400)               a URL or account address whose host is malformed (also a ValueError)
    └── FetchError (502)
        ├── UnsafeAddress (403)         target resolves to a forbidden (private, loopback...) address
        ├── HostRefused (403)           target host is one we do not federate with (final: never retried)
        ├── ResponseTooLarge (502)      body exceeds the size cap (after decompression)
        ├── FetchTimeout (504)          connect timeout or total deadline exceeded
        ├── BadContentType (502)        not an ActivityStreams media type
        ├── IdMismatch (502)            fetched document's id differs from where it was fetched
        ├── FetchStatus (502)           remote answered a non-success status (kept in ``remote_status``)
        └── TooManyRedirects (502)      redirect chain longer than allowed
"""

from __future__ import annotations

__all__ = [
    "ApubError",
    "SignatureError",
    "SignatureMissing",
    "SignatureMalformed",
    "SignatureInvalid",
    "SignatureExpired",
    "DigestMismatch",
    "KeyUnavailable",
    "InvalidHost",
    "FetchError",
    "UnsafeAddress",
    "HostRefused",
    "ResponseTooLarge",
    "FetchTimeout",
    "BadContentType",
    "IdMismatch",
    "FetchStatus",
    "TooManyRedirects",
]


class ApubError(Exception):
    """Base class of every error raised by the apub layer."""

    status_code: int = 500


class SignatureError(ApubError):
    """A request signature could not be accepted."""

    status_code = 401


class SignatureMissing(SignatureError):
    """The request carries no signature at all."""

    status_code = 401


class SignatureMalformed(SignatureError):
    """A signature header exists but cannot be parsed or lacks required components."""

    status_code = 400


class SignatureInvalid(SignatureError):
    """The signature does not verify with the signer's key."""

    status_code = 401


class SignatureExpired(SignatureError):
    """The signature's date is outside the accepted window (too old or in the future)."""

    status_code = 401


class DigestMismatch(SignatureError):
    """The body digest is missing, uses no supported algorithm, or does not match the body."""

    status_code = 401


class KeyUnavailable(SignatureError):
    """The signing key could not be obtained now; the sender should retry later."""

    status_code = 503


class InvalidHost(ApubError, ValueError):
    """A URL or account address whose host cannot be read as one canonical host: userinfo, a bad port,
    characters no host name has, an invalid IDN, a non-canonical numeric address. Malformed input, never
    "another host"."""

    status_code = 400


class FetchError(ApubError):
    """Fetching a remote document failed."""

    status_code = 502


class UnsafeAddress(FetchError):
    """The target address is not allowed (private, loopback, link-local, ...)."""

    status_code = 403


class HostRefused(FetchError):
    """The target host is one this server does not federate with (suspended, or not on the allow-list): no
    request was sent, and retrying will not change that."""

    status_code = 403


class ResponseTooLarge(FetchError):
    """The response body exceeded the size cap."""

    status_code = 502


class FetchTimeout(FetchError):
    """The remote did not answer (or finish answering) in time."""

    status_code = 504


class BadContentType(FetchError):
    """The response's media type is not one we accept for this fetch."""

    status_code = 502


class IdMismatch(FetchError):
    """The fetched document's ``id`` does not match the URL it was fetched from."""

    status_code = 502


class FetchStatus(FetchError):
    """The remote answered with a non-success status code, kept in ``remote_status``."""

    status_code = 502

    def __init__(self, message: str, remote_status: int) -> None:
        super().__init__(message)
        self.remote_status = remote_status


class TooManyRedirects(FetchError):
    """The redirect chain was longer than allowed."""

    status_code = 502
