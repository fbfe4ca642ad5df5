"""Signature algorithms shared by draft-cavage and RFC 9421.

Names follow the RFC 9421 HTTP Signature Algorithms registry (``rsa-v1_5-sha256``,
``rsa-pss-sha512``, ``ecdsa-p256-sha256``, ``ed25519``). Signatures are raw bytes as carried
on the wire: for ECDSA that is the fixed-size ``r || s`` concatenation RFC 9421 requires
(draft-cavage ``hs2019`` ECDSA uses DER instead, handled in ``cavage``), so it is converted
to DER here before ``cryptography`` checks it.

``verify`` returns a bool rather than raising so that the caller can retry with a refreshed
key without exception overhead on the hot path.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from apub.keys import PrivateKey, PublicKey

__all__ = [
    "RSA_V1_5_SHA256",
    "RSA_PSS_SHA512",
    "ECDSA_P256_SHA256",
    "ED25519",
    "ALGORITHMS",
    "algorithms_for_key",
    "verify",
    "sign",
]

RSA_V1_5_SHA256 = "rsa-v1_5-sha256"
RSA_PSS_SHA512 = "rsa-pss-sha512"
ECDSA_P256_SHA256 = "ecdsa-p256-sha256"
ED25519 = "ed25519"
ALGORITHMS = frozenset({RSA_V1_5_SHA256, RSA_PSS_SHA512, ECDSA_P256_SHA256, ED25519})

# Immutable helper objects built once; constructing them per call costs measurable time.
_PKCS1V15 = padding.PKCS1v15()
_SHA256 = hashes.SHA256()
_SHA512 = hashes.SHA512()
_PSS_SHA512 = padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64)
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


def algorithms_for_key(public_key: PublicKey) -> tuple[str, ...]:
    """Algorithms a key can verify, most likely first (used when a signature names none)."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return (RSA_V1_5_SHA256, RSA_PSS_SHA512)
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return (ED25519,)
    if isinstance(public_key, ec.EllipticCurvePublicKey) and isinstance(public_key.curve, ec.SECP256R1):
        return (ECDSA_P256_SHA256,)
    return ()


def verify(algorithm: str, public_key: PublicKey, signature: bytes, message: bytes) -> bool:
    """Return whether ``signature`` over ``message`` is valid for ``algorithm`` and the key.

    A key whose type does not fit the algorithm yields False (never an exception), so a
    signer cannot make us use a key in a way its owner did not intend.
    """
    try:
        if algorithm == RSA_V1_5_SHA256:
            if not isinstance(public_key, rsa.RSAPublicKey):
                return False
            public_key.verify(signature, message, _PKCS1V15, _SHA256)
        elif algorithm == RSA_PSS_SHA512:
            if not isinstance(public_key, rsa.RSAPublicKey):
                return False
            public_key.verify(signature, message, _PSS_SHA512, _SHA512)
        elif algorithm == ED25519:
            if not isinstance(public_key, ed25519.Ed25519PublicKey):
                return False
            public_key.verify(signature, message)
        elif algorithm == ECDSA_P256_SHA256:
            if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(
                public_key.curve, ec.SECP256R1
            ):
                return False
            if len(signature) != 64:
                return False
            r = int.from_bytes(signature[:32], "big")
            s = int.from_bytes(signature[32:], "big")
            public_key.verify(encode_dss_signature(r, s), message, _ECDSA_SHA256)
        else:
            return False
    except InvalidSignature:
        return False
    return True


def sign(algorithm: str, private_key: PrivateKey, message: bytes) -> bytes:
    """Sign ``message`` with ``algorithm``; raises ``ValueError`` if the key does not fit it."""
    if algorithm == RSA_V1_5_SHA256 and isinstance(private_key, rsa.RSAPrivateKey):
        return private_key.sign(message, _PKCS1V15, _SHA256)
    if algorithm == RSA_PSS_SHA512 and isinstance(private_key, rsa.RSAPrivateKey):
        return private_key.sign(message, _PSS_SHA512, _SHA512)
    if algorithm == ED25519 and isinstance(private_key, ed25519.Ed25519PrivateKey):
        return private_key.sign(message)
    if (
        algorithm == ECDSA_P256_SHA256
        and isinstance(private_key, ec.EllipticCurvePrivateKey)
        and isinstance(private_key.curve, ec.SECP256R1)
    ):
        r, s = decode_dss_signature(private_key.sign(message, _ECDSA_SHA256))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    raise ValueError(f"cannot sign {algorithm} with a {type(private_key).__name__}")
