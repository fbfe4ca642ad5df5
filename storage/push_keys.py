"""Keys of Web Push: the server's VAPID key pair (RFC 8292) and the sealing of the access tokens that push
messages carry.

The VAPID private key is configured as base64url of the P-256 private scalar (Mastodon's format); its public
key is given to apps as the uncompressed point, base64url. Tokens are sealed with Fernet under a key derived
from `secrets.secret_key`, so the database alone does not reveal them.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_vapid_private_key() -> str:
    """A fresh VAPID private key in the configured form."""
    key = ec.generate_private_key(ec.SECP256R1())
    return b64url(key.private_numbers().private_value.to_bytes(32, "big"))


def vapid_private_key(configured: str) -> ec.EllipticCurvePrivateKey:
    """The configured key; ValueError when it is not a P-256 scalar."""
    raw = b64url_decode(configured)
    if len(raw) != 32:
        raise ValueError("must be base64url of 32 bytes")
    return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())


def vapid_public_key(configured: str) -> str:
    """The public key apps pass to the browser or push service (`applicationServerKey`)."""
    point = (
        vapid_private_key(configured)
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return b64url(point)


def _token_fernet(secret_key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"plein web push token").derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def seal_token(secret_key: str, access_token: str) -> str:
    return _token_fernet(secret_key).encrypt(access_token.encode()).decode()


def unseal_token(secret_key: str, sealed: str) -> str:
    return _token_fernet(secret_key).decrypt(sealed.encode()).decode()
