from __future__ import annotations

import base64
from datetime import datetime, timedelta

import httpx
import pytest
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    InvalidSignature,
    MappingKeyResolver,
)
from http_message_signatures.algorithms import ECDSA_P256_SHA256, ED25519, RSA_PSS_SHA512, RSA_V1_5_SHA256

from apub.errors import SignatureMalformed
from apub.httpsig import algorithms, rfc9421
from apub.httpsig.headers import lowercase_headers
from apub.keys import (
    PublicKey,
    generate_ed25519_private_key_pem,
    generate_rsa_private_key_pem,
    load_private_key,
)
from apub.keys import load_public_key as load
from tests.apub import vectors as v


def verify_vector(
    signature_input: str,
    signature: str,
    key: PublicKey,
    *,
    method: str = v.RFC_METHOD,
    url: str = v.RFC_URL,
    headers: dict[str, str] = v.RFC_HEADERS,
    label: str | None = None,
) -> bool:
    parsed = rfc9421.parse_signatures(signature_input, signature)
    chosen = next(sig for sig in parsed if label in (None, sig.label))
    base = rfc9421.signature_base(
        chosen.components, chosen.signature_params, method, url, lowercase_headers(headers)
    )
    return rfc9421.verify_signature(chosen, base, key)


@pytest.mark.parametrize(
    ("signature_input", "signature"),
    [(v.B21_INPUT, v.B21_SIGNATURE), (v.B22_INPUT, v.B22_SIGNATURE), (v.B23_INPUT, v.B23_SIGNATURE)],
    ids=["B.2.1", "B.2.2", "B.2.3"],
)
def test_rsa_pss_sha512_vectors_verify(signature_input: str, signature: str) -> None:
    key = load(v.RFC_RSA_PSS_PUBLIC_KEY_PEM)
    assert verify_vector(signature_input, signature, key)
    if signature_input.startswith("sig-b21=()"):
        return  # B.2.1 covers no component: only its parameters are signed
    # The same signature over a changed message must fail.
    changed = {**v.RFC_HEADERS, "Content-Digest": "sha-256=:AAAA:", "Date": "Tue, 20 Apr 2021 02:07:56 GMT"}
    assert not verify_vector(signature_input, signature, key, url=v.RFC_URL + "x", headers=changed)


def test_b22_signature_base_covers_a_query_parameter() -> None:
    parsed = rfc9421.parse_signatures(v.B22_INPUT, v.B22_SIGNATURE)[0]
    base = rfc9421.signature_base(
        parsed.components, parsed.signature_params, "POST", v.RFC_URL, lowercase_headers(v.RFC_HEADERS)
    )
    assert base.decode().splitlines()[2] == '"@query-param";name="Pet": dog'
    assert parsed.params["tag"] == "header-example"


def test_ed25519_vector_b26_verifies_and_is_reproduced() -> None:
    assert verify_vector(v.B26_INPUT, v.B26_SIGNATURE, load(v.RFC_ED25519_PUBLIC_KEY_PEM))
    added = rfc9421.sign_request(
        v.RFC_METHOD,
        v.RFC_URL,
        v.RFC_HEADERS,
        None,
        key_id="test-key-ed25519",
        private_key=load_private_key(v.RFC_ED25519_PRIVATE_KEY_PEM),
        components=("date", "@method", "@path", "@authority", "content-type", "content-length"),
        label="sig-b26",
        created=v.RFC_CREATED,
        include_alg=False,
    )
    assert added["Signature-Input"] == v.B26_INPUT
    assert added["Signature"] == v.B26_SIGNATURE


def test_ecdsa_p256_vectors_b24_and_b3_verify() -> None:
    key = load(v.RFC_ECC_P256_PUBLIC_KEY_PEM)
    # B.2.4 signs a response; its published base checks the raw r||s handling.
    signature = base64.b64decode(v.B24_SIGNATURE)
    assert algorithms.verify("ecdsa-p256-sha256", key, signature, v.B24_BASE.encode())
    assert not algorithms.verify("ecdsa-p256-sha256", key, signature, v.B24_BASE.encode() + b" ")
    h = v.TTRP_HEADERS
    assert verify_vector(h["Signature-Input"], h["Signature"], key, url=v.TTRP_URL, headers=h)


def test_rsa_v1_5_sha256_vector_from_section_4_3_verifies() -> None:
    h = v.PROXY_HEADERS
    key = load(v.RFC_RSA_PUBLIC_KEY_PEM)
    assert verify_vector(
        h["Signature-Input"], h["Signature"], key, url=v.PROXY_URL, headers=h, label="proxy_sig"
    )
    forged = {**h, "Forwarded": "for=192.0.2.124;host=example.com;proto=https"}
    assert not verify_vector(
        h["Signature-Input"], h["Signature"], key, url=v.PROXY_URL, headers=forged, label="proxy_sig"
    )


def test_derived_components() -> None:
    url = "HTTPS://WWW.Example.COM:443/Path?param=value&foo=bar&baz=bat%2Dman"
    value = rfc9421.component_value
    assert value("@authority", {}, "GET", url, {}) == "www.example.com"
    assert value("@authority", {}, "GET", "http://example.com:8080/", {}) == "example.com:8080"
    assert value("@scheme", {}, "GET", url, {}) == "https"
    assert value("@path", {}, "GET", url, {}) == "/Path"
    assert value("@path", {}, "GET", "https://example.com", {}) == "/"
    assert value("@query", {}, "GET", url, {}) == "?param=value&foo=bar&baz=bat%2Dman"
    assert value("@query", {}, "GET", "https://example.com/p", {}) == "?"
    assert value("@request-target", {}, "GET", url, {}) == "/Path?param=value&foo=bar&baz=bat%2Dman"
    assert value("@target-uri", {}, "GET", url, {}) == url
    assert value("@query-param", {"name": "baz"}, "GET", url, {}) == "bat-man"
    assert value("x-ows", {}, "GET", url, {"x-ows": "   Leading and trailing whitespace.  "}) == (
        "Leading and trailing whitespace."
    )
    assert (
        value("example-dict", {"key": "b"}, "GET", url, {"example-dict": " a=1,    b=2;x=1;y=2"})
        == "2;x=1;y=2"
    )
    for bad in ("@status", "@unknown", "x-missing"):
        with pytest.raises(SignatureMalformed):
            value(bad, {}, "GET", url, {})


@pytest.mark.parametrize(
    ("signature_input", "signature"),
    [
        ("sig1=(", "sig1=:AAAA:"),
        ('sig1=("@method");keyid="k"', "sig2=:AAAA:"),
        ('sig1=("@method");keyid="k"', 'sig1="not bytes"'),
        ('sig1=("@Method");keyid="k"', "sig1=:AAAA:"),
        ('sig1=("@method" "@method");keyid="k"', "sig1=:AAAA:"),
        ('sig1=("@method");created="yesterday"', "sig1=:AAAA:"),
        ('sig1=("@method");keyid=1', "sig1=:AAAA:"),
    ],
)
def test_malformed_signature_fields(signature_input: str, signature: str) -> None:
    with pytest.raises(SignatureMalformed):
        rfc9421.parse_signatures(signature_input, signature)


ORACLE_ALGORITHMS = {
    "rsa-v1_5-sha256": RSA_V1_5_SHA256,
    "rsa-pss-sha512": RSA_PSS_SHA512,
    "ed25519": ED25519,
    "ecdsa-p256-sha256": ECDSA_P256_SHA256,
}


def private_key_for(algorithm: str):  # noqa: ANN201 - a key of the algorithm's type
    if algorithm.startswith("rsa"):
        return load_private_key(generate_rsa_private_key_pem())
    if algorithm == "ed25519":
        return load_private_key(generate_ed25519_private_key_pem())
    return load_private_key(v.RFC_ECC_P256_PRIVATE_KEY_PEM)


@pytest.mark.parametrize("algorithm", sorted(ORACLE_ALGORITHMS))
def test_oracle_verifies_what_we_sign(algorithm: str) -> None:
    private_key = private_key_for(algorithm)
    body = b'{"type": "Create"}'
    request = httpx.Request(
        "POST", "https://remote.example/inbox?x=1", content=body, headers={"Content-Type": "application/json"}
    )
    added = rfc9421.sign_request(
        request.method,
        str(request.url),
        request.headers,
        body,
        key_id="https://local.example/users/a#key",
        private_key=private_key,
        algorithm=algorithm,
    )
    request.headers.update(added)
    resolver = MappingKeyResolver(
        public_keys={"https://local.example/users/a#key": private_key.public_key()}, private_keys={}
    )
    verifier = HTTPMessageVerifier(signature_algorithm=ORACLE_ALGORITHMS[algorithm], key_resolver=resolver)
    [result] = verifier.verify(
        request, body=body, require_components=("@method", "@target-uri", "content-digest")
    )
    assert result.parameters["keyid"] == "https://local.example/users/a#key"
    request.headers["Content-Type"] = "text/plain"
    with pytest.raises(InvalidSignature):
        verifier.verify(request)


@pytest.mark.parametrize("algorithm", sorted(ORACLE_ALGORITHMS))
def test_we_verify_what_the_oracle_signs(algorithm: str) -> None:
    private_key = private_key_for(algorithm)
    request = httpx.Request(
        "GET", "https://remote.example/users/b", headers={"Accept": "application/activity+json"}
    )
    resolver = MappingKeyResolver(public_keys={}, private_keys={"kid": private_key})
    signer = HTTPMessageSigner(signature_algorithm=ORACLE_ALGORITHMS[algorithm], key_resolver=resolver)
    signer.sign(
        request,
        key_id="kid",
        label="sig1",
        created=datetime.now() - timedelta(seconds=5),
        covered_component_ids=("@method", "@target-uri", "@authority", "@path", "@query", "accept"),
    )
    headers = lowercase_headers(dict(request.headers))
    [parsed] = rfc9421.parse_signatures(headers["signature-input"], headers["signature"])
    assert parsed.alg == algorithm
    base = rfc9421.signature_base(
        parsed.components, parsed.signature_params, "GET", str(request.url), headers
    )
    assert rfc9421.verify_signature(parsed, base, private_key.public_key())
    assert not rfc9421.verify_signature(
        parsed, base.replace(b"users/b", b"users/c"), private_key.public_key()
    )
