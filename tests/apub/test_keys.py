from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from apub import keys
from tests.apub import vectors


def test_rsa_key_generation_round_trips_through_pem() -> None:
    private_pem = keys.generate_rsa_private_key_pem()
    private_key = keys.load_private_key(private_pem)
    assert isinstance(private_key, rsa.RSAPrivateKey)
    assert private_key.key_size == 2048
    public_pem = keys.public_key_pem_from_private_pem(private_pem)
    assert public_pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert keys.load_public_key(public_pem) == private_key.public_key()
    assert keys.private_key_to_pem(private_key) == private_pem


def test_ed25519_key_generation_round_trips_through_pem() -> None:
    private_key = keys.load_private_key(keys.generate_ed25519_private_key_pem())
    assert isinstance(private_key, ed25519.Ed25519PrivateKey)
    public_pem = keys.public_key_to_pem(private_key.public_key())
    assert keys.load_public_key(public_pem) == private_key.public_key()


def test_pkcs1_public_key_is_accepted() -> None:
    assert keys.load_public_key(vectors.CAVAGE_PUBLIC_KEY_PKCS1_PEM) == keys.load_public_key(
        vectors.CAVAGE_PUBLIC_KEY_PEM
    )


def test_garbage_pem_is_rejected() -> None:
    with pytest.raises(ValueError):
        keys.load_public_key("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")


def test_multikey_matches_did_key_vector() -> None:
    # did:key specification example: this Multikey holds the Ed25519 key with JWK x below.
    multibase = "z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
    public_key = keys.multibase_to_public_key(multibase)
    assert isinstance(public_key, ed25519.Ed25519PublicKey)
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert base64.urlsafe_b64encode(raw).rstrip(b"=") == b"O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik"
    assert keys.public_key_to_multibase(public_key) == multibase


def test_multikey_round_trips_for_ed25519_and_p256() -> None:
    ed_key = ed25519.Ed25519PrivateKey.generate().public_key()
    encoded = keys.public_key_to_multibase(ed_key)
    assert encoded.startswith("z6Mk")
    assert keys.multibase_to_public_key(encoded) == ed_key
    p256_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    encoded = keys.public_key_to_multibase(p256_key)
    assert encoded.startswith("zDn")
    assert keys.multibase_to_public_key(encoded) == p256_key


@pytest.mark.parametrize(
    "multibase",
    [
        "u6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
        "z0OIl",
        "z" + keys.base58btc_encode(b"\xed\x01" + b"x" * 31),
    ],
)
def test_bad_multikeys_are_rejected(multibase: str) -> None:
    with pytest.raises(ValueError):
        keys.multibase_to_public_key(multibase)


def test_base58_keeps_leading_zero_bytes() -> None:
    for raw in (b"", b"\0", b"\0\0\x01", b"hello world", bytes(range(40))):
        assert keys.base58btc_decode(keys.base58btc_encode(raw)) == raw
    assert keys.base58btc_encode(b"hello world") == "StV1DL6CwTryKyV"
