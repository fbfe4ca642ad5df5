"""Actor keys: generation, PEM load/dump and Multikey (multibase) encoding.

Every local actor has an RSA-2048 key (published as ``publicKey.publicKeyPem``; the key
draft-cavage signatures and most of the fediverse use) and an Ed25519 key (published as a
``Multikey`` in ``assertionMethod``, FEP-521a, usable for RFC 9421 signatures).

Private keys travel as PEM strings (PKCS#8) because the storage layer keeps them as text.
Public keys are loaded once into ``cryptography`` key objects and reused; parsing PEM on
every request would be the slowest part of signature verification.

Multikey encoding (FEP-521a / W3C Controlled Identifiers): ``z`` + base58btc(multicodec
prefix + raw public key). Ed25519 uses prefix ``0xed 0x01`` and the 32 raw key bytes;
P-256 uses ``0x80 0x24`` and the 33-byte compressed point.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

__all__ = [
    "PrivateKey",
    "PublicKey",
    "generate_rsa_private_key_pem",
    "generate_ed25519_private_key_pem",
    "load_private_key",
    "load_public_key",
    "private_key_to_pem",
    "public_key_to_pem",
    "public_key_pem_from_private_pem",
    "public_key_to_multibase",
    "multibase_to_public_key",
    "base58btc_encode",
    "base58btc_decode",
]

PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
PublicKey = rsa.RSAPublicKey | ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey

_ED25519_MULTICODEC = b"\xed\x01"
_P256_MULTICODEC = b"\x80\x24"
_BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BASE58_INDEX = {char: index for index, char in enumerate(_BASE58_ALPHABET)}


def generate_rsa_private_key_pem(key_size: int = 2048) -> str:
    """Generate a new RSA private key (public exponent 65537) and return it as PKCS#8 PEM."""
    return private_key_to_pem(rsa.generate_private_key(public_exponent=65537, key_size=key_size))


def generate_ed25519_private_key_pem() -> str:
    """Generate a new Ed25519 private key and return it as PKCS#8 PEM."""
    return private_key_to_pem(ed25519.Ed25519PrivateKey.generate())


def load_private_key(pem: str | bytes, *, ours: bool = False) -> PrivateKey:
    """Load an unencrypted PEM private key (PKCS#8, or PKCS#1 / SEC1 legacy forms).

    ``ours=True`` is for keys this server generated and stored itself: the RSA validation (a primality
    check, ~20-40 ms of CPU) guards against crafted keys and is skipped for them.
    Raises ``ValueError`` for unparsable input or an unsupported key type.
    """
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    key = serialization.load_pem_private_key(data, password=None, unsafe_skip_rsa_key_validation=ours)
    if not isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError(f"unsupported private key type {type(key).__name__}")
    return key


def load_public_key(pem: str | bytes) -> PublicKey:
    """Load a PEM public key: SubjectPublicKeyInfo (``PUBLIC KEY``) or PKCS#1 (``RSA PUBLIC KEY``).

    Some older servers publish PKCS#1; both forms are accepted. Raises ``ValueError`` for
    unparsable input or an unsupported key type.
    """
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    key = serialization.load_pem_public_key(data.strip())
    if not isinstance(key, rsa.RSAPublicKey | ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey):
        raise ValueError(f"unsupported public key type {type(key).__name__}")
    return key


def private_key_to_pem(key: PrivateKey) -> str:
    """Serialize a private key as unencrypted PKCS#8 PEM text."""
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    ).decode("ascii")


def public_key_to_pem(key: PublicKey) -> str:
    """Serialize a public key as SubjectPublicKeyInfo PEM (what ``publicKeyPem`` carries)."""
    return key.public_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PublicFormat.SubjectPublicKeyInfo,
    ).decode("ascii")


def public_key_pem_from_private_pem(private_pem: str) -> str:
    """Return the SubjectPublicKeyInfo PEM of the public half of a PEM private key."""
    return public_key_to_pem(load_private_key(private_pem).public_key())


def base58btc_encode(raw: bytes) -> str:
    """Encode bytes with the Bitcoin base58 alphabet (leading zero bytes become ``1``)."""
    number = int.from_bytes(raw, "big")
    encoded = []
    while number:
        number, remainder = divmod(number, 58)
        encoded.append(_BASE58_ALPHABET[remainder])
    leading_zeros = len(raw) - len(raw.lstrip(b"\0"))
    return "1" * leading_zeros + "".join(reversed(encoded))


def base58btc_decode(text: str) -> bytes:
    """Decode Bitcoin-alphabet base58 text; raises ``ValueError`` on a foreign character."""
    number = 0
    for char in text:
        try:
            number = number * 58 + _BASE58_INDEX[char]
        except KeyError:
            raise ValueError(f"invalid base58 character {char!r}") from None
    leading_ones = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * leading_ones + body


def public_key_to_multibase(key: ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey) -> str:
    """Encode an Ed25519 or P-256 public key as a Multikey ``publicKeyMultibase`` value."""
    if isinstance(key, ed25519.Ed25519PublicKey):
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return "z" + base58btc_encode(_ED25519_MULTICODEC + raw)
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        point = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
        return "z" + base58btc_encode(_P256_MULTICODEC + point)
    raise ValueError(f"no Multikey encoding for {type(key).__name__}")


def multibase_to_public_key(multibase: str) -> ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey:
    """Decode a Multikey ``publicKeyMultibase`` value (Ed25519 or P-256).

    Raises ``ValueError`` for a non-base58btc multibase prefix, an unknown multicodec or a
    key of the wrong length.
    """
    if not multibase.startswith("z"):
        raise ValueError("only base58btc ('z') multibase is supported")
    decoded = base58btc_decode(multibase[1:])
    prefix, raw = decoded[:2], decoded[2:]
    if prefix == _ED25519_MULTICODEC:
        if len(raw) != 32:
            raise ValueError("Ed25519 Multikey must hold 32 key bytes")
        return ed25519.Ed25519PublicKey.from_public_bytes(raw)
    if prefix == _P256_MULTICODEC:
        if len(raw) != 33:
            raise ValueError("P-256 Multikey must hold a 33-byte compressed point")
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    raise ValueError(f"unsupported multicodec prefix {prefix.hex()}")
