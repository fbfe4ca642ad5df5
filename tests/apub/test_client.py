"""The federation client against real servers on loopback addresses: SSRF guard, redirects, limits, AS2."""

from __future__ import annotations

import asyncio
import gzip
import json
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Generator
from typing import TYPE_CHECKING

import httpx
import pytest

from apub.client import FederationClient, is_as2_content_type
from apub.errors import (
    BadContentType,
    FetchError,
    FetchStatus,
    FetchTimeout,
    HostRefused,
    IdMismatch,
    ResponseTooLarge,
    TooManyRedirects,
    UnsafeAddress,
)
from apub.hosts import host_name
from apub.ssrf import Resolver
from apub.transport import read_capped_body

if TYPE_CHECKING:
    from conftest import LocalServer, RecordedRequest, ServerFactory

AS2 = {"content-type": "application/activity+json"}
LOOPBACK_ONLY = ["127.0.0.1/32"]


def as2_body(document_id: str, **extra: object) -> bytes:
    return json.dumps(
        {"@context": "https://www.w3.org/ns/activitystreams", "id": document_id, **extra}
    ).encode()


def serve_object(server: LocalServer, path: str, **extra: object) -> str:
    url = server.url(path)
    server.respond(path, as2_body(url, **extra), headers=AS2)
    return url


@pytest.fixture
async def client() -> AsyncIterator[FederationClient]:
    async with FederationClient(
        allow_private_addresses=LOOPBACK_ONLY, total_timeout=5.0
    ) as federation_client:
        yield federation_client


# --- SSRF guard through the client -------------------------------------------------------------------------


async def test_default_client_refuses_loopback(local_server: ServerFactory) -> None:
    server = await local_server()
    url = serve_object(server, "/note")
    async with FederationClient() as strict_client:
        with pytest.raises(UnsafeAddress):
            await strict_client.fetch_object(url)
        with pytest.raises(UnsafeAddress):
            await strict_client.post(server.url("/inbox"), b"{}")
    assert server.requests == []


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "2130706433", "0x7f000001", "127.1", "localhost", "[::1]", "[::ffff:127.0.0.1]"]
)
async def test_loopback_forms_are_refused_through_the_client(local_server: ServerFactory, host: str) -> None:
    server = await local_server()
    serve_object(server, "/note")
    async with FederationClient() as strict_client:
        with pytest.raises(UnsafeAddress):
            await strict_client.fetch_object(f"http://{host}:{server.port}/note")
    assert server.requests == []


@pytest.mark.parametrize(
    "host", ["127.0.0.2", "2130706434", "127.2", "[::ffff:7f00:2]", "[::ffff:127.0.0.2]"]
)
async def test_addresses_outside_the_allow_list_are_refused(
    client: FederationClient, local_server: ServerFactory, host: str
) -> None:
    server = await local_server("127.0.0.2")
    serve_object(server, "/note")
    with pytest.raises(UnsafeAddress):
        await client.fetch_object(f"http://{host}:{server.port}/note")
    assert server.requests == []


async def test_octal_dotted_host_is_refused(client: FederationClient) -> None:
    # httpx itself rejects this spelling; either way no request leaves.
    with pytest.raises(FetchError):
        await client.fetch_object("http://0177.0.0.1/note")


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.com/x", "gopher://127.0.0.1:70/x", "/relative"]
)
async def test_only_http_and_https_are_fetched(client: FederationClient, url: str) -> None:
    with pytest.raises(FetchError):
        await client.get(url)


async def test_allowed_private_address_works(client: FederationClient, local_server: ServerFactory) -> None:
    server = await local_server()
    url = serve_object(server, "/note", type="Note")
    document = await client.fetch_object(url)
    assert document["type"] == "Note"
    assert server.requests[0].headers["accept"].startswith("application/activity+json")


async def test_name_resolving_to_a_private_address_is_refused(local_server: ServerFactory) -> None:
    server = await local_server("127.0.0.2")
    serve_object(server, "/note")

    async def resolver(host: str, port: int) -> list[str]:
        return ["127.0.0.2"]

    async with FederationClient(allow_private_addresses=LOOPBACK_ONLY, resolver=resolver) as guarded:
        with pytest.raises(UnsafeAddress, match="127.0.0.2"):
            await guarded.fetch_object(f"http://intranet.example:{server.port}/note")
    assert server.requests == []


async def test_redirect_from_allowed_host_to_forbidden_one_is_refused(
    client: FederationClient, local_server: ServerFactory
) -> None:
    allowed = await local_server("127.0.0.1")
    forbidden = await local_server("127.0.0.2")
    serve_object(forbidden, "/secret")
    allowed.redirect("/note", forbidden.url("/secret"))
    with pytest.raises(UnsafeAddress, match="127.0.0.2"):
        await client.fetch_object(allowed.url("/note"))
    assert [request.path for request in allowed.requests] == ["/note"]
    assert forbidden.requests == []


async def test_no_dns_rebinding_window(local_server: ServerFactory) -> None:
    """The resolver answers an allowed address first, then a forbidden one: the connection goes to the
    address that was checked, and the next resolution (a new connection) is checked again."""
    checked = await local_server("127.0.0.1")
    private = await local_server("127.0.0.2", port=checked.port)
    for server in (checked, private):
        server.respond(
            "/note", as2_body(f"http://rebind.example:{checked.port}/note"), headers=AS2, close=True
        )
    answers = iter([["127.0.0.1"], ["127.0.0.2"]])
    resolved: list[str] = []

    async def rebinding_resolver(host: str, port: int) -> list[str]:
        resolved.append(host)
        return next(answers)

    url = f"http://rebind.example:{checked.port}/note"
    async with FederationClient(
        allow_private_addresses=LOOPBACK_ONLY, resolver=rebinding_resolver
    ) as guarded:
        document = await guarded.fetch_object(url)
        assert document["id"] == url
        with pytest.raises(UnsafeAddress, match="127.0.0.2"):
            await guarded.fetch_object(url)
    assert resolved == ["rebind.example", "rebind.example"]
    assert [request.headers["host"] for request in checked.requests] == [f"rebind.example:{checked.port}"]
    assert private.requests == []


async def test_signing_auth_sees_the_host_name_not_the_address(local_server: ServerFactory) -> None:
    server = await local_server()
    url = f"http://remote.example:{server.port}/inbox"
    server.respond("/inbox", status=202)
    signed_urls: list[str] = []

    class RecordingAuth(httpx.Auth):
        def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
            signed_urls.append(str(request.url))
            request.headers["Signature"] = "test"
            yield request

    async def resolver(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    async with FederationClient(allow_private_addresses=LOOPBACK_ONLY, resolver=resolver) as guarded:
        response = await guarded.post(url, b'{"type": "Follow"}', auth=RecordingAuth())
    assert response.status_code == 202
    assert signed_urls == [url]
    delivered = server.requests[0]
    assert delivered.headers["host"] == f"remote.example:{server.port}"
    assert delivered.headers["signature"] == "test"
    assert delivered.headers["content-type"] == "application/activity+json"
    assert delivered.body == b'{"type": "Follow"}'


# --- redirects ---------------------------------------------------------------------------------------------


async def test_three_redirects_are_followed(client: FederationClient, local_server: ServerFactory) -> None:
    server = await local_server()
    final_url = serve_object(server, "/final")
    server.redirect("/r1", "/r2", status=301)
    server.redirect("/r2", "/r3", status=307)
    server.redirect("/r3", final_url, status=308)
    document = await client.fetch_object(server.url("/r1"))
    assert document["id"] == final_url
    assert [request.path for request in server.requests] == ["/r1", "/r2", "/r3", "/final"]


async def test_more_than_three_redirects_fail(client: FederationClient, local_server: ServerFactory) -> None:
    server = await local_server()
    serve_object(server, "/final")
    for hop in range(4):
        server.redirect(f"/r{hop}", f"/r{hop + 1}" if hop < 3 else "/final")
    with pytest.raises(TooManyRedirects):
        await client.fetch_object(server.url("/r0"))
    assert "/final" not in [request.path for request in server.requests]


async def test_post_does_not_follow_redirects(client: FederationClient, local_server: ServerFactory) -> None:
    server = await local_server()
    server.redirect("/inbox", "/elsewhere", status=307)
    server.respond("/elsewhere", status=202)
    response = await client.post(server.url("/inbox"), b"{}")
    assert response.status_code == 307
    assert [request.path for request in server.requests] == ["/inbox"]


async def test_head_does_not_follow_redirects(client: FederationClient, local_server: ServerFactory) -> None:
    server = await local_server()
    server.redirect("/short", "/long", status=301)
    response = await client.head(server.url("/short"))
    assert response.status_code == 301 and response.headers["location"].endswith("/long")
    assert [(request.method, request.path) for request in server.requests] == [("HEAD", "/short")]


async def test_a_per_request_body_cap_replaces_the_client_cap(local_server: ServerFactory) -> None:
    server = await local_server()
    server.respond("/image", b"x" * 2000)
    async with FederationClient(allow_private_addresses=LOOPBACK_ONLY, max_body_bytes=1000) as capped:
        assert len((await capped.get(server.url("/image"), max_bytes=2000)).body) == 2000
        with pytest.raises(ResponseTooLarge):
            await capped.get(server.url("/image"), max_bytes=1999)


# --- limits ------------------------------------------------------------------------------------------------


async def test_body_over_the_cap_is_refused(local_server: ServerFactory) -> None:
    server = await local_server()
    server.respond("/big", b"x" * 1001, headers=AS2)
    async with FederationClient(allow_private_addresses=LOOPBACK_ONLY, max_body_bytes=1000) as capped:
        with pytest.raises(ResponseTooLarge):
            await capped.get(server.url("/big"))


async def test_body_at_the_cap_is_accepted(local_server: ServerFactory) -> None:
    server = await local_server()
    server.respond("/exact", b"x" * 1000)
    async with FederationClient(allow_private_addresses=LOOPBACK_ONLY, max_body_bytes=1000) as capped:
        assert len((await capped.get(server.url("/exact"))).body) == 1000


async def test_chunked_body_without_length_is_cut(local_server: ServerFactory) -> None:
    server = await local_server()

    async def endless_chunks(request: RecordedRequest, writer: asyncio.StreamWriter) -> bool:
        writer.write(server.head(200, {"transfer-encoding": "chunked", **AS2}))
        chunk = b"y" * 4096
        for _ in range(1000):
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        return False

    server.routes["/stream"] = endless_chunks
    async with FederationClient(allow_private_addresses=LOOPBACK_ONLY, max_body_bytes=100_000) as capped:
        with pytest.raises(ResponseTooLarge):
            await capped.get(server.url("/stream"))


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_compression_bomb_is_cut_after_decompression(
    client: FederationClient, local_server: ServerFactory, encoding: str
) -> None:
    server = await local_server()
    expanded = b"\0" * (64 * 1024 * 1024)
    bomb = gzip.compress(expanded, compresslevel=9) if encoding == "gzip" else zlib.compress(expanded, 9)
    assert len(bomb) < 1024 * 1024  # the wire size passes the cap; only decompression reveals the size
    server.respond("/bomb", bomb, headers={**AS2, "content-encoding": encoding})
    with pytest.raises(ResponseTooLarge):
        await client.fetch_object(server.url("/bomb"))


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "deflate-raw"])
async def test_compressed_bodies_are_decoded(
    client: FederationClient, local_server: ServerFactory, encoding: str
) -> None:
    server = await local_server()
    url = server.url("/note")
    plain = as2_body(url, content="hello " * 1000)
    if encoding == "gzip":
        wire = gzip.compress(plain)
    elif encoding == "deflate":
        wire = zlib.compress(plain)
    else:
        compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        wire, encoding = compressor.compress(plain) + compressor.flush(), "deflate"
    server.respond("/note", wire, headers={**AS2, "content-encoding": encoding})
    document = await client.fetch_object(url)
    assert document["content"] == "hello " * 1000


async def test_slow_drip_body_is_cut_by_the_total_deadline(local_server: ServerFactory) -> None:
    server = await local_server()
    finished = asyncio.Event()

    async def drip(request: RecordedRequest, writer: asyncio.StreamWriter) -> bool:
        writer.write(server.head(200, {"content-length": "100000", **AS2}))
        # One byte every 50 ms keeps any per-read timeout happy forever; only a total deadline stops it.
        with pytest.raises(ConnectionError):
            for _ in range(100_000):
                writer.write(b" ")
                await writer.drain()
                await asyncio.sleep(0.05)
        finished.set()
        return False

    server.routes["/drip"] = drip
    async with FederationClient(allow_private_addresses=LOOPBACK_ONLY, total_timeout=1.0) as deadline_client:
        with pytest.raises(FetchTimeout):
            await deadline_client.fetch_object(server.url("/drip"))
    await finished.wait()


async def test_silent_server_hits_the_deadline(local_server: ServerFactory) -> None:
    server = await local_server()

    async def silent(request: RecordedRequest, writer: asyncio.StreamWriter) -> bool:
        await asyncio.Event().wait()
        return False

    server.routes["/silent"] = silent
    async with FederationClient(allow_private_addresses=LOOPBACK_ONLY, total_timeout=0.5) as deadline_client:
        with pytest.raises(FetchTimeout):
            await deadline_client.get(server.url("/silent"))


async def test_unreachable_port_is_a_fetch_error_not_a_timeout(client: FederationClient) -> None:
    with pytest.raises(FetchError) as caught:
        await client.get("http://127.0.0.1:1/")
    assert not isinstance(caught.value, FetchTimeout | UnsafeAddress)


async def test_per_host_concurrency_is_capped(local_server: ServerFactory) -> None:
    server = await local_server()
    in_flight = 0
    most_in_flight = 0
    pair_arrived = asyncio.Event()

    async def slow_ok(request: RecordedRequest, writer: asyncio.StreamWriter) -> bool:
        nonlocal in_flight, most_in_flight
        in_flight += 1
        most_in_flight = max(most_in_flight, in_flight)
        if in_flight == 2:
            pair_arrived.set()
        await pair_arrived.wait()  # the first request waits for a second one, which the cap must allow
        await asyncio.sleep(0.02)  # gives a broken cap time to let a third one in
        in_flight -= 1
        writer.write(server.head(202, {"content-length": "0"}))
        await writer.drain()
        return True

    server.routes["/inbox"] = slow_ok
    async with FederationClient(allow_private_addresses=LOOPBACK_ONLY, per_host_concurrency=2) as capped:
        responses = await asyncio.gather(*(capped.post(server.url("/inbox"), b"{}") for _ in range(8)))
        assert capped._host_slots._slots == {}  # per-host entries live only while requests are in flight
    assert [response.status_code for response in responses] == [202] * 8
    assert most_in_flight == 2


# --- AS2 fetch ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "text/html; charset=utf-8",
        "application/json",
        "application/ld+json",
        'application/ld+json; profile="http://example.com/other"',
        "application/jrd+json",
        "",
    ],
)
async def test_non_as2_content_type_is_refused(
    client: FederationClient, local_server: ServerFactory, content_type: str
) -> None:
    server = await local_server()
    server.respond("/note", as2_body(server.url("/note")), headers={"content-type": content_type})
    with pytest.raises(BadContentType):
        await client.fetch_object(server.url("/note"))


@pytest.mark.parametrize(
    "content_type",
    [
        "application/activity+json",
        "application/activity+json; charset=utf-8",
        'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
        'Application/LD+JSON; charset=utf-8; profile="https://www.w3.org/ns/activitystreams https://x.example/p"',
    ],
)
def test_as2_content_types(content_type: str) -> None:
    assert is_as2_content_type(content_type)


async def test_id_mismatch_refetches_by_id_and_accepts_a_match(
    client: FederationClient, local_server: ServerFactory
) -> None:
    server = await local_server()
    canonical_url = serve_object(server, "/objects/1", content="authoritative")
    server.respond("/alias", as2_body(canonical_url, content="forged"), headers=AS2)
    document = await client.fetch_object(server.url("/alias"))
    assert document["content"] == "authoritative"
    assert [request.path for request in server.requests] == ["/alias", "/objects/1"]


async def test_id_mismatch_after_refetch_fails(client: FederationClient, local_server: ServerFactory) -> None:
    server = await local_server()
    server.respond("/upload.json", as2_body(server.url("/objects/1")), headers=AS2)
    server.respond("/objects/1", as2_body(server.url("/objects/2")), headers=AS2)
    with pytest.raises(IdMismatch):
        await client.fetch_object(server.url("/upload.json"))


async def test_redirect_target_must_carry_its_own_id(
    client: FederationClient, local_server: ServerFactory
) -> None:
    server = await local_server()
    final_url = serve_object(server, "/objects/9")
    server.redirect("/short", "/objects/9")
    document = await client.fetch_object(server.url("/short"))
    assert document["id"] == final_url
    assert [request.path for request in server.requests] == ["/short", "/objects/9"]


async def test_document_without_id_is_refused(client: FederationClient, local_server: ServerFactory) -> None:
    server = await local_server()
    server.respond("/anon", b'{"type": "Note"}', headers=AS2)
    with pytest.raises(IdMismatch):
        await client.fetch_object(server.url("/anon"))


async def test_error_status_is_reported(client: FederationClient, local_server: ServerFactory) -> None:
    server = await local_server()
    server.respond("/gone", b"", status=410, headers=AS2)
    with pytest.raises(FetchStatus) as caught:
        await client.fetch_object(server.url("/gone"))
    assert caught.value.remote_status == 410


@pytest.mark.parametrize(
    "body", [b"not json", b"[1, 2]", b"[" * 100 + b"]" * 100, b'{"a":' * 100 + b"1" + b"}" * 100]
)
async def test_bad_json_is_refused(
    client: FederationClient, local_server: ServerFactory, body: bytes
) -> None:
    server = await local_server()
    server.respond("/note", body, headers=AS2)
    with pytest.raises(FetchError):
        await client.fetch_object(server.url("/note"))


async def test_fetch_json_accepts_jrd(client: FederationClient, local_server: ServerFactory) -> None:
    server = await local_server()
    server.respond(
        "/.well-known/webfinger", b'{"subject": "acct:a@b"}', headers={"content-type": "application/jrd+json"}
    )
    server.respond("/page", b"<html>", headers={"content-type": "text/html"})
    assert (await client.fetch_json(server.url("/.well-known/webfinger")))["subject"] == "acct:a@b"
    assert server.requests[0].headers["accept"] == "application/jrd+json, application/json"
    with pytest.raises(BadContentType):
        await client.fetch_json(server.url("/page"))


async def test_connections_are_reused(client: FederationClient, local_server: ServerFactory) -> None:
    server = await local_server()
    server.respond("/inbox", status=202)
    for _ in range(5):
        await client.post(server.url("/inbox"), b"{}")
    assert len(server.requests) == 5
    assert server.connections == 1


@pytest.mark.parametrize(("keepalive", "connections"), [(0.2, 2), (60.0, 1)])
async def test_idle_connections_are_kept_for_keepalive_seconds(
    local_server: ServerFactory, keepalive: float, connections: int
) -> None:
    """An account posting every 15-30 s (a crisis) finds its followers' servers' connections still open, so
    each post is not thousands of TLS handshakes again; the setting is `limits.keepalive_seconds`."""
    server = await local_server()
    server.respond("/inbox", status=202)
    async with FederationClient(
        allow_private_addresses=LOOPBACK_ONLY, total_timeout=5.0, keepalive_seconds=keepalive
    ) as client:
        await client.post(server.url("/inbox"), b"{}")
        await asyncio.sleep(1.0)  # idle longer than the short keep-alive, far shorter than the long one
        await client.post(server.url("/inbox"), b"{}")
    assert len(server.requests) == 2
    assert server.connections == connections


async def test_compression_bomb_is_never_expanded_in_memory() -> None:
    """One 64 KiB wire chunk can inflate to 64 MiB; the decoder must stop at the cap, not after inflating."""
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)

    class OneWireChunk(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield bomb

    response = httpx.Response(
        200,
        headers={"content-encoding": "gzip"},
        stream=OneWireChunk(),
        request=httpx.Request("GET", "http://remote.example/bomb"),
    )
    tracemalloc.start()
    try:
        with pytest.raises(ResponseTooLarge):
            await read_capped_body(response, 1024 * 1024)
        _, peak_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak_bytes < 8 * 1024 * 1024


# --- the outbound gate -------------------------------------------------------------------------------------


def _names(mapping: dict[str, str]) -> Resolver:
    async def resolve(host: str, port: int) -> list[str]:
        return [mapping[host]]

    return resolve


async def test_the_gate_refuses_every_kind_of_request_to_a_forbidden_host(
    local_server: ServerFactory,
) -> None:
    refused = await local_server("127.0.0.2")
    allowed = await local_server("127.0.0.3")
    serve_object(refused, "/note")
    allowed.respond("/ok", as2_body(f"http://allowed.test:{allowed.port}/ok"), headers=AS2)
    allowed.redirect("/hop", f"http://Refused.Test.:{refused.port}/note")
    asked: list[str] = []

    async def gate(host: str) -> bool:
        asked.append(host)
        return host_name(host) != "refused.test"

    resolver = _names({"refused.test": "127.0.0.2", "allowed.test": "127.0.0.3"})
    async with FederationClient(
        allow_private_addresses=["127.0.0.0/8"], resolver=resolver, host_gate=gate
    ) as gated:
        target = f"http://REFUSED.test.:{refused.port}/note"
        for attempt in (
            gated.get(target),
            gated.fetch_object(target),
            gated.fetch_json(target),
            gated.post(target, b"{}"),
            gated.post(target, b"{}", auth=httpx.BasicAuth("a", "b")),
            gated.fetch_object(allowed.url("/hop").replace("127.0.0.3", "allowed.test")),
        ):
            with pytest.raises(HostRefused):
                await attempt
        # Positive control: an allowed host is reached.
        document = await gated.fetch_object(f"http://allowed.test:{allowed.port}/ok")
        assert document["id"] == f"http://allowed.test:{allowed.port}/ok"
    assert refused.requests == []
    assert [request.path for request in allowed.requests] == ["/hop", "/ok"]
    assert f"refused.test:{refused.port}" in asked


async def test_a_url_with_userinfo_is_refused_before_connecting(
    client: FederationClient, local_server: ServerFactory
) -> None:
    server = await local_server()
    url = serve_object(server, "/note")
    with pytest.raises(UnsafeAddress, match="malformed"):
        await client.fetch_object(url.replace("http://", "http://x@"))
    with pytest.raises(UnsafeAddress, match="malformed"):
        await client.post(server.url("/inbox").replace("http://", "http://x@"), b"{}")
    assert server.requests == []
