"""The federation client's direct delivery path (``post`` without httpx) and the prepared RFC 9421 signer:
same guard, same signatures, same double-knock as the httpx path."""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING

import pytest

from apub.client import FederationClient
from apub.errors import FetchError, FetchTimeout, ResponseTooLarge, SignatureError, UnsafeAddress
from apub.httpsig import PublicKeyRecord, SchemeMemory, SignatureAuth, rfc9421, verify_request
from apub.httpsig.knock import CAVAGE, RFC9421, Knock
from apub.keys import generate_ed25519_private_key_pem, generate_rsa_private_key_pem, load_private_key

if TYPE_CHECKING:
    from conftest import LocalServer, RecordedRequest, ServerFactory

OWNER = "https://local.example/users/alice"
KEY_ID = f"{OWNER}#main-key"
ED_KEY_ID = f"{OWNER}#ed25519-key"
RSA_KEY = load_private_key(generate_rsa_private_key_pem())
ED_KEY = load_private_key(generate_ed25519_private_key_pem())
LOOPBACK_ONLY = ["127.0.0.1/32"]
RECORDS = {
    KEY_ID: PublicKeyRecord(KEY_ID, OWNER, RSA_KEY.public_key()),  # type: ignore[arg-type]
    ED_KEY_ID: PublicKeyRecord(ED_KEY_ID, OWNER, ED_KEY.public_key()),  # type: ignore[arg-type]
}


def auth_with(memory: SchemeMemory, *, ed25519: bool = True) -> SignatureAuth:
    if not ed25519:
        return SignatureAuth(KEY_ID, RSA_KEY, scheme_memory=memory)  # type: ignore[arg-type]
    return SignatureAuth(
        KEY_ID,
        RSA_KEY,  # type: ignore[arg-type]
        scheme_memory=memory,
        ed25519_key_id=ED_KEY_ID,
        ed25519_private_key=ED_KEY,  # type: ignore[arg-type]
    )


async def lookup(key_id: str, *, refresh: bool = False) -> PublicKeyRecord:
    return RECORDS[key_id]


def verifying_inbox(server: LocalServer, accept: frozenset[str], seen: list[tuple[str, str]]) -> None:
    """An inbox at /inbox that verifies signatures for real, accepting only the given schemes."""

    async def inbox(request: RecordedRequest, writer: asyncio.StreamWriter) -> bool:
        scheme = "rfc9421" if "signature-input" in request.headers else "cavage"
        url = f"http://{request.headers['host']}{request.path}"
        status = 401
        if scheme in accept:
            try:
                signer = await verify_request(request.method, url, request.headers, request.body, lookup)
            except SignatureError:
                pass
            else:
                seen.append((scheme, signer.key_id))
                status = 202
        if status == 401:
            seen.append((scheme, "refused"))
        writer.write(server.head(status, {"content-length": "0"}))
        await writer.drain()
        return True

    server.routes["/inbox"] = inbox


# --- the prepared RFC 9421 signer makes what rfc9421.sign_request makes ---------------------------------------


@pytest.mark.parametrize("ed25519", [True, False], ids=["ed25519", "rsa"])
@pytest.mark.parametrize(
    ("method", "headers", "body"),
    [
        ("POST", {"Content-Type": "application/activity+json", "Host": "remote.example"}, b'{"a": 1}'),
        ("POST", {"Host": "remote.example"}, b""),
        ("POST", {"content-type": "application/json", "date": "Sun, 05 Jan 2014 21:31:40 GMT"}, b"{}"),
        ("GET", {"Accept": "application/activity+json"}, None),
        ("GET", {}, b""),
    ],
)
def test_prepared_signer_matches_sign_request(
    ed25519: bool, method: str, headers: dict[str, str], body: bytes | None
) -> None:
    auth = auth_with(SchemeMemory(), ed25519=ed25519)
    url = "https://Remote.example:443/users/bob/inbox?x=1"
    ours = auth.signature_headers(
        method, url, headers, body, Knock("rfc9421", "ed25519" if ed25519 else "rsa")
    )
    created = int(re.search(r";created=(\d+)", ours["Signature-Input"]).group(1))  # type: ignore[union-attr]
    body_or_none = body if body or method not in ("GET", "HEAD") else None
    theirs = rfc9421.sign_request(
        method,
        url,
        headers,
        body_or_none,
        key_id=ED_KEY_ID if ed25519 else KEY_ID,
        private_key=ED_KEY if ed25519 else RSA_KEY,  # type: ignore[arg-type]
        created=created,
    )
    assert ours == theirs  # both schemes' signatures are deterministic: byte-for-byte equal


def test_prepared_signer_recomputes_the_digest_of_a_new_body() -> None:
    auth = auth_with(SchemeMemory())
    headers = {"Content-Type": "application/activity+json"}
    first = auth.signature_headers("POST", "https://r.example/inbox", headers, b'{"n": 1}', RFC9421)
    second = auth.signature_headers("POST", "https://r.example/inbox", headers, b'{"n": 2}', RFC9421)
    assert first["Content-Digest"] != second["Content-Digest"]


# --- signed deliveries on the direct path -------------------------------------------------------------------


async def test_direct_post_double_knocks_and_remembers(local_server: ServerFactory) -> None:
    server = await local_server()
    seen: list[tuple[str, str]] = []
    verifying_inbox(server, frozenset({"rfc9421"}), seen)
    memory = SchemeMemory()

    async def resolver(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    url = f"http://remote.example:{server.port}/inbox"
    async with FederationClient(allow_private_addresses=LOOPBACK_ONLY, resolver=resolver) as client:
        first = await client.post(url, b'{"type": "Follow"}', auth=auth_with(memory))
        second = await client.post(url, b'{"type": "Like"}', auth=auth_with(memory))
    assert (first.status_code, second.status_code) == (202, 202)
    # draft-cavage first; RFC 9421 with the RSA key of publicKey at once on the refusal; then RFC 9421 first.
    assert seen == [("cavage", "refused"), ("rfc9421", KEY_ID), ("rfc9421", KEY_ID)]
    assert memory.get(f"remote.example:{server.port}") == RFC9421
    assert [request.headers["host"] for request in server.requests] == [f"remote.example:{server.port}"] * 3
    assert server.requests[-1].headers["content-type"] == "application/activity+json"
    assert server.requests[-1].body == b'{"type": "Like"}'


async def test_direct_post_signs_cavage_first(local_server: ServerFactory) -> None:
    server = await local_server()
    seen: list[tuple[str, str]] = []
    verifying_inbox(server, frozenset({"cavage"}), seen)
    memory = SchemeMemory()
    async with FederationClient(allow_private_addresses=LOOPBACK_ONLY) as client:
        response = await client.post(server.url("/inbox#ignored"), b"{}", auth=auth_with(memory))
    assert response.status_code == 202
    assert response.url == server.url("/inbox")
    assert seen == [("cavage", KEY_ID)]
    assert memory.get(f"127.0.0.1:{server.port}") == CAVAGE


# --- the guard and the limits on the direct path ------------------------------------------------------------


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "2130706433", "0x7f000001", "127.1", "localhost", "[::1]", "[::ffff:127.0.0.1]"]
)
async def test_direct_post_refuses_loopback_forms(local_server: ServerFactory, host: str) -> None:
    server = await local_server()
    server.respond("/inbox", status=202)
    async with FederationClient() as strict_client:
        with pytest.raises(UnsafeAddress):
            await strict_client.post(
                f"http://{host}:{server.port}/inbox", b"{}", auth=auth_with(SchemeMemory())
            )
    assert server.requests == []


async def test_direct_post_refuses_a_name_resolving_to_a_forbidden_address(
    local_server: ServerFactory,
) -> None:
    server = await local_server("127.0.0.2")
    server.respond("/inbox", status=202)

    async def resolver(host: str, port: int) -> list[str]:
        return ["127.0.0.2"]

    async with FederationClient(allow_private_addresses=LOOPBACK_ONLY, resolver=resolver) as client:
        with pytest.raises(UnsafeAddress, match="127.0.0.2"):
            await client.post(f"http://evil.example:{server.port}/inbox", b"{}")
    assert server.requests == []


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/inbox", "/inbox", "http:///inbox"])
async def test_direct_post_refuses_non_http_urls(url: str) -> None:
    async with FederationClient(allow_private_addresses=LOOPBACK_ONLY) as client:
        with pytest.raises(UnsafeAddress):
            await client.post(url, b"{}")


async def test_direct_post_to_a_closed_port_is_a_fetch_error_not_a_timeout() -> None:
    async with FederationClient(allow_private_addresses=LOOPBACK_ONLY) as client:
        with pytest.raises(FetchError) as caught:
            await client.post("http://127.0.0.1:1/inbox", b"{}")
    assert not isinstance(caught.value, FetchTimeout | UnsafeAddress)


async def test_direct_post_answer_is_capped(local_server: ServerFactory) -> None:
    server = await local_server()
    server.respond("/inbox", b"x" * 2000, status=400)
    async with FederationClient(allow_private_addresses=LOOPBACK_ONLY, max_body_bytes=1000) as client:
        with pytest.raises(ResponseTooLarge):
            await client.post(server.url("/inbox"), b"{}")
        server.respond("/ok", b"x" * 1000, status=400, headers={"retry-after": "5"})
        response = await client.post(server.url("/ok"), b"{}")
    assert (response.status_code, len(response.body), response.headers["retry-after"]) == (400, 1000, "5")


async def test_direct_post_silent_server_hits_the_deadline(local_server: ServerFactory) -> None:
    server = await local_server()

    async def silent(request: RecordedRequest, writer: asyncio.StreamWriter) -> bool:
        await asyncio.Event().wait()
        return False

    server.routes["/inbox"] = silent
    async with FederationClient(allow_private_addresses=LOOPBACK_ONLY, total_timeout=0.5) as client:
        with pytest.raises(FetchTimeout):
            await client.post(server.url("/inbox"), b"{}")
