"""The verification hot path's header handling: ASGI raw headers, HTTP dates, the Mastodon form."""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime

import httpx
import pytest
from starlette.datastructures import Headers

from apub.errors import SignatureExpired, SignatureMalformed
from apub.httpsig import cavage
from apub.httpsig.headers import header_table, parse_http_date
from apub.httpsig.verify import PublicKeyRecord, verify_request
from apub.keys import generate_rsa_private_key_pem, load_private_key

KEY_ID = "https://remote.example/users/alice#main-key"
OWNER = "https://remote.example/users/alice"
INBOX = "https://local.example/users/bob/inbox"
BODY = b'{"type": "Follow", "actor": "https://remote.example/users/alice"}'
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
RSA_KEY = load_private_key(generate_rsa_private_key_pem())


async def lookup(key_id: str, *, refresh: bool = False) -> PublicKeyRecord:
    return PublicKeyRecord(key_id=key_id, owner=OWNER, public_key=RSA_KEY.public_key())


def signed_post() -> dict[str, str]:
    headers = {"Host": "local.example", "Content-Type": "application/activity+json"}
    headers.update(
        cavage.sign_request(
            "POST", INBOX, headers, BODY, key_id=KEY_ID, private_key=RSA_KEY, now=NOW.timestamp()
        )
    )
    return headers


def asgi_raw(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode(), value.encode()) for name, value in headers.items()]


async def test_starlette_headers_verify_as_the_inbox_passes_them() -> None:
    signer = await verify_request("POST", INBOX, Headers(raw=asgi_raw(signed_post())), BODY, lookup, now=NOW)
    assert (signer.owner, signer.scheme) == (OWNER, "cavage")


async def test_repeated_header_first_one_counts_as_in_starlette() -> None:
    headers = signed_post()
    stale = "Wed, 01 May 2024 08:00:00 GMT"
    raw = asgi_raw(headers)
    assert (await verify_request("POST", INBOX, Headers(raw=[*raw, (b"date", stale.encode())]), BODY, lookup, now=NOW)).owner == OWNER  # fmt: skip
    with pytest.raises(SignatureExpired):
        await verify_request(
            "POST", INBOX, Headers(raw=[(b"date", stale.encode()), *raw]), BODY, lookup, now=NOW
        )


async def test_httpx_headers_with_mixed_case_raw_names_verify() -> None:
    headers = httpx.Headers(signed_post())
    assert any(not name.islower() for name, _ in headers.raw)
    assert (await verify_request("POST", INBOX, headers, BODY, lookup, now=NOW)).owner == OWNER


def test_header_table_lowercases_and_encodes() -> None:
    expected = {b"host": b"local.example", b"x-note": "caf\u00e9".encode()}
    assert header_table({"Host": "local.example", "X-Note": "caf\u00e9"}) == expected
    assert header_table(httpx.Headers({"Host": "local.example", "X-Note": "cafe"})) == {
        b"host": b"local.example",
        b"x-note": b"cafe",
    }
    assert header_table(Headers(raw=[(b"host", b"a"), (b"host", b"b")])) == {b"host": b"a"}


def test_parse_http_date_matches_email_utils_across_calendars() -> None:
    # Leap days, century rules (1900 no, 2000 yes, 2100 no), epoch and far dates.
    moments = [0, 951782400, 951868800, 4107542400, 4107456000, -2203891200, 1709164800, 253402300799]
    moments += list(range(1_700_000_000, 1_800_000_000, 7_654_321))
    for moment in moments:
        assert parse_http_date(email.utils.formatdate(moment, usegmt=True)) == moment
    assert parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT") == 784111777  # RFC 850 form, slow path


@pytest.mark.parametrize(
    "value",
    ["Sun, 06 Nov 1994 24:49:37 GMT", "Sun, 06 Nov 1994 08:60:37 GMT", "Sun, 00 Nov 1994 08:49:37 GMT",
     "Sun, 06 Nov 1994 -1:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT", "yesterday"],
)  # fmt: skip
def test_parse_http_date_rejects_impossible_dates(value: str) -> None:
    with pytest.raises(ValueError):
        parse_http_date(value)


def test_mastodon_form_and_reordered_form_parse_alike() -> None:
    mastodon = signed_post()["Signature"]
    assert mastodon.startswith('keyId="')
    params = dict(part.split("=", 1) for part in mastodon[:-1].split('",'))
    reordered = '",'.join(f"{name}={params[name]}" for name in ("signature", "headers", "keyId", "algorithm"))
    assert cavage.parse_signature_header(mastodon) == cavage.parse_signature_header(reordered + '"')
    with pytest.raises(SignatureMalformed):
        cavage.parse_signature_header(mastodon.replace('headers="(request-target) host date digest content-type"', 'headers=""'))  # fmt: skip
