"""HTTP request signatures for federation: draft-cavage and RFC 9421, both directions.

Public API:

* ``verify_request`` — verify an incoming request, return its ``Signer`` (``verify``).
* ``KeyLookup`` / ``PublicKeyRecord`` — how the verifier obtains keys; ``KeyResolver`` is
  the caching implementation over an injected JSON fetcher (``keyresolver``).
* ``SignatureAuth`` / ``SchemeMemory`` — sign outgoing httpx requests, RFC 9421 first with
  a draft-cavage fallback remembered per host (``auth``).
* ``cavage`` and ``rfc9421`` — the two schemes' parse/sign/verify primitives.
"""

from apub.httpsig.auth import SchemeMemory, SignatureAuth
from apub.httpsig.keyresolver import KeyResolver
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
