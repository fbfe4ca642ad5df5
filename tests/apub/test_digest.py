from __future__ import annotations

import pytest

from apub.digest import (
    content_digest_header,
    digest_header,
    verify_content_digest_header,
    verify_digest_header,
)
from apub.errors import DigestMismatch

BODY = b'{"hello": "world"}'


def test_digest_header_matches_draft_cavage_example() -> None:
    assert digest_header(BODY) == "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="
    verify_digest_header("SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=", BODY)


def test_digest_algorithm_name_is_case_insensitive_and_lists_are_allowed() -> None:
    verify_digest_header("sha-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=", BODY)
    verify_digest_header(f"MD5=Sd/dVLAcvNLSq16eXua5uQ==, {digest_header(BODY, 'SHA-512')}", BODY)


@pytest.mark.parametrize(
    "value",
    [
        "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",  # right digest, other body
        "MD5=Sd/dVLAcvNLSq16eXua5uQ==",  # no supported algorithm
        "SHA-256=not base64!",
        "garbage",
    ],
)
def test_digest_failures(value: str) -> None:
    with pytest.raises(DigestMismatch):
        verify_digest_header(value, b'{"hello": "world!"}' if value.startswith("SHA-256=X") else BODY)


def test_content_digest_matches_rfc9530_examples() -> None:
    # RFC 9530 section 2: the body {"hello": "world"} followed by LF.
    body = BODY + b"\n"
    assert content_digest_header(body) == "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:"
    verify_content_digest_header(
        "sha-512=:YMAam51Jz/jOATT6/zvHrLVgOYTGFy1d6GJiOHTohq4yP+pgk4vf2aCsyRZOtw8MjkM7iw7yZ/WkppmM44T3qg==:",
        body,
    )
    verify_content_digest_header(
        "md5=:XrY7u+Ae7tCTyyK7j1rNww==:, " + content_digest_header(body, "sha-512"), body
    )


@pytest.mark.parametrize(
    "value",
    [
        "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:",  # digest of BODY + LF, not BODY
        "md5=:XrY7u+Ae7tCTyyK7j1rNww==:",
        "sha-256=RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg",  # a token, not a byte sequence
        "sha-256=:",
    ],
)
def test_content_digest_failures(value: str) -> None:
    with pytest.raises(DigestMismatch):
        verify_content_digest_header(value, BODY)
