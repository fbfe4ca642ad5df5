"""HTTP request signatures for federation: draft-cavage and RFC 9421, both directions.

Public API:

* ``verify_request`` — verify an incoming request, return its ``Signer`` (``verify``).
* ``KeyLookup`` / ``PublicKeyRecord`` — how the verifier obtains keys; ``KeyResolver`` is
  the caching implementation over an injected JSON fetcher (``keyresolver``).
* ``SignatureAuth`` — sign outgoing httpx requests (``auth``), double-knocking as
  ``knock`` decides: draft-cavage first, RFC 9421 at once on a refusal, what a host proved
  remembered per host with expiry in a ``SchemeMemory`` (see docs/SIGNATURES.md).
* ``cavage`` and ``rfc9421`` — the two schemes' parse/sign/verify primitives.
"""

from apub.httpsig.auth import SignatureAuth
from apub.httpsig.keyresolver import KeyResolver
from apub.httpsig.knock import SchemeMemory
from apub.httpsig.verify import KeyLookup, PublicKeyRecord, Signer, verify_request

__all__ = [
    "KeyLookup",
    "KeyResolver",
    "PublicKeyRecord",
    "SchemeMemory",
    "SignatureAuth",
    "Signer",
    "verify_request",
]
