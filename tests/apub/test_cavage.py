from __future__ import annotations

import base64

import pytest

from apub.errors import SignatureMalformed
from apub.httpsig import algorithms, cavage
from apub.httpsig.headers import lowercase_headers
from apub.keys import generate_ed25519_private_key_pem, load_private_key, load_public_key
from tests.apub import vectors as v

PATH = "/foo?param=value&pet=dog"
HEADERS = lowercase_headers(v.CAVAGE_HEADERS)
C3_HEADERS = "(request-target) host date content-type digest content-length"


def header(signature: str, headers: str | None, algorithm: str = "rsa-sha256") -> str:
    listed = f'headers="{headers}",' if headers is not None else ""
    return f'keyId="Test",algorithm="{algorithm}",{listed}signature="{signature}"'


@pytest.mark.parametrize(
    ("signature", "headers"),
    [
        (v.CAVAGE_C1_SIGNATURE, None),
        (v.CAVAGE_C2_SIGNATURE, "(request-target) host date"),
        (v.CAVAGE_C3_SIGNATURE, C3_HEADERS),
    ],
    ids=["C.1", "C.2", "C.3"],
)
def test_appendix_c_vectors_verify_and_are_reproduced(signature: str, headers: str | None) -> None:
    parsed = cavage.parse_signature_header(header(signature, headers))
    message = cavage.signing_string(parsed.headers, "POST", PATH, HEADERS).encode()
    assert cavage.verify_signature(parsed, message, load_public_key(v.CAVAGE_PUBLIC_KEY_PEM))
    # PKCS#1 v1.5 is deterministic: signing the same string gives the published value.
    private_key = load_private_key(v.CAVAGE_PRIVATE_KEY_PEM)
    assert base64.b64encode(algorithms.sign("rsa-v1_5-sha256", private_key, message)).decode() == signature


def test_c3_signing_string_is_the_published_one() -> None:
    parsed = cavage.parse_signature_header(header(v.CAVAGE_C3_SIGNATURE, C3_HEADERS))
    assert cavage.signing_string(parsed.headers, "POST", PATH, HEADERS) == (
        "(request-target): post /foo?param=value&pet=dog\n"
        "host: example.com\n"
        "date: Sun, 05 Jan 2014 21:31:40 GMT\n"
        "content-type: application/json\n"
        "digest: SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=\n"
        "content-length: 18"
    )


def test_parsing_tolerates_spacing_folding_authorization_and_pseudo_headers() -> None:
    folded = (
        'Signature keyId = "Test" ,algorithm="hs2019",\n  created=1402170695, expires=1402170699,\n'
        '  headers="(request-target) (created) (expires)\n    host date",\n'
        f'  signature="{v.CAVAGE_C2_SIGNATURE[:40]}\n    {v.CAVAGE_C2_SIGNATURE[40:]}"'
    )
    parsed = cavage.parse_signature_header(folded)
    assert parsed.key_id == "Test"
    assert parsed.algorithm == "hs2019"
    assert parsed.created == 1402170695 and parsed.expires == 1402170699
    assert parsed.headers == ("(request-target)", "(created)", "(expires)", "host", "date")
    assert parsed.signature == base64.b64decode(v.CAVAGE_C2_SIGNATURE)
    assert cavage.signing_string(parsed.headers, "POST", PATH, HEADERS, parsed.created, parsed.expires) == (
        "(request-target): post /foo?param=value&pet=dog\n(created): 1402170695\n(expires): 1402170699\n"
        "host: example.com\ndate: Sun, 05 Jan 2014 21:31:40 GMT"
    )


@pytest.mark.parametrize(
    "value",
    [
        'algorithm="rsa-sha256",signature="AAAA"',  # no keyId
        'keyId="Test",algorithm="rsa-sha256"',  # no signature
        'keyId="Test",signature="@@not base64@@"',
        'keyId="Test",created=soon,signature="AAAA"',
        'keyId="Test",headers="",signature="AAAA"',
    ],
)
def test_malformed_headers_are_rejected(value: str) -> None:
    with pytest.raises(SignatureMalformed):
        cavage.parse_signature_header(value)


def test_missing_signed_header_is_malformed() -> None:
    with pytest.raises(SignatureMalformed):
        cavage.signing_string(("(request-target)", "accept"), "GET", "/", HEADERS)
    with pytest.raises(SignatureMalformed):
        cavage.signing_string(("(created)",), "GET", "/", HEADERS)


def test_sign_request_post_and_get_cover_what_mastodon_expects() -> None:
    private_key = load_private_key(v.CAVAGE_PRIVATE_KEY_PEM)
    public_key = load_public_key(v.CAVAGE_PUBLIC_KEY_PEM)
    body = b'{"type": "Follow"}'
    added = cavage.sign_request(
        "POST",
        "https://remote.example/inbox",
        {"Content-Type": "application/activity+json"},
        body,
        key_id="https://local.example/users/a#main-key",
        private_key=private_key,
        now=1_700_000_000,
    )
    assert added["Date"] == "Tue, 14 Nov 2023 22:13:20 GMT"
    assert added["Host"] == "remote.example"
    assert added["Digest"].startswith("SHA-256=")
    parsed = cavage.parse_signature_header(added["Signature"])
    assert parsed.headers == ("(request-target)", "host", "date", "digest", "content-type")
    merged = lowercase_headers({**added, "Content-Type": "application/activity+json"})
    message = cavage.signing_string(parsed.headers, "POST", "/inbox", merged).encode()
    assert cavage.verify_signature(parsed, message, public_key)

    added = cavage.sign_request(
        "GET",
        "https://remote.example/users/b?page=1",
        {"Accept": "application/activity+json", "Host": "remote.example"},
        None,
        key_id="k",
        private_key=private_key,
        algorithm="hs2019",
    )
    assert "Host" not in added and "Digest" not in added
    parsed = cavage.parse_signature_header(added["Signature"])
    assert parsed.algorithm == "hs2019"
    assert parsed.headers == ("(request-target)", "host", "date", "accept")
    merged = lowercase_headers({**added, "Accept": "application/activity+json", "Host": "remote.example"})
    message = cavage.signing_string(parsed.headers, "GET", "/users/b?page=1", merged).encode()
    assert cavage.verify_signature(parsed, message, public_key)
    assert not cavage.verify_signature(parsed, message + b"x", public_key)


def test_algorithm_must_fit_the_key() -> None:
    rsa_private = load_private_key(v.CAVAGE_PRIVATE_KEY_PEM)
    ed_private = load_private_key(generate_ed25519_private_key_pem())
    added = cavage.sign_request("GET", "https://r.example/", {}, None, key_id="k", private_key=ed_private)
    parsed = cavage.parse_signature_header(added["Signature"].replace("rsa-sha256", "hs2019"))
    message = cavage.signing_string(parsed.headers, "GET", "/", lowercase_headers(added)).encode()
    assert cavage.verify_signature(parsed, message, ed_private.public_key())  # type: ignore[arg-type]
    assert not cavage.verify_signature(parsed, message, rsa_private.public_key())  # type: ignore[arg-type]
    rsa_claim = cavage.parse_signature_header(added["Signature"])  # says rsa-sha256, key is Ed25519
    assert not cavage.verify_signature(rsa_claim, message, ed_private.public_key())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "header",
    [
        'keyId="https://a.example/u#k",algorithm="rsa-sha256",headers="(request-target) host date",signature="YWJj"',
        'Signature keyId="https://a.example/u#k",algorithm="rsa-sha256",headers="date",signature="YWJj"',
        'keyId = "https://a.example/u#k" , algorithm="hs2019", created=1, headers="(created)", signature="YWJj"',
        'signature="YWJj",keyId="https://b.example/u#k"',
        'keyId="https://a.example/u#k",keyId="https://b.example/u#k",signature="YWJj"',
    ],
)
def test_key_id_of_reads_what_the_parser_reads(header: str) -> None:
    assert cavage.key_id_of(header) == cavage.parse_signature_header(header).key_id


def test_key_id_of_refuses_what_the_parser_refuses() -> None:
    with pytest.raises(SignatureMalformed):
        cavage.key_id_of('algorithm="rsa-sha256",signature="YWJj"')
