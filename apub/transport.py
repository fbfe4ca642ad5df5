"""The bytes-on-the-wire layer of the federation client: guarded connections and capped bodies.

Connections are made by one aiohttp session (``GuardedSession``), reached two ways: through the
``httpx-aiohttp`` transport (``GuardedTransport``; fetches, which need httpx's auth flows and redirects), and
directly by ``GuardedSession.request`` (the federation client's delivery path, where httpx's generic
machinery cost more than the request itself). The SSRF guard sits where the address is chosen, so nothing can
slip between the check and the connect, whichever way a request comes:

- host names are resolved by ``GuardedResolver``, the connector's only resolver: it resolves once, refuses
  if any answer is forbidden, and hands the connector exactly the checked addresses to connect to. TLS still
  verifies the certificate against the host name (aiohttp passes it as SNI), and the pool is keyed by the
  host name, so one remote's connection is never reused for another;
- address literals never reach a resolver, so ``GuardedTransport`` and ``GuardedSession.request`` check
  them (and the scheme) before passing the request on.

Bodies are read raw and decompressed here with a bounded output per step (``read_capped_body``), so the
size cap applies to the decompressed bytes and a compression bomb is cut after at most the cap plus one
step, never expanded in memory first.
"""

from __future__ import annotations

import socket
import ssl
import zlib
from collections.abc import AsyncIterator, Mapping

import aiohttp
import aiohttp.abc
import httpx
import yarl
from httpx_aiohttp import AiohttpTransport

from apub.errors import FetchError, ResponseTooLarge, UnsafeAddress
from apub.ssrf import AddressGuard

__all__ = [
    "ACCEPT_ENCODING",
    "GuardedResolver",
    "GuardedSession",
    "GuardedTransport",
    "build_transport",
    "read_capped_aiohttp_body",
    "read_capped_body",
]

#: Only encodings ``read_capped_body`` can decompress with a bounded output.
ACCEPT_ENCODING = "gzip, deflate"
ALLOWED_SCHEMES = frozenset({"http", "https"})


class GuardedResolver(aiohttp.abc.AbstractResolver):
    """aiohttp resolver that returns only addresses the guard has checked (and refuses the whole host if any
    answer is forbidden)."""

    def __init__(self, guard: AddressGuard) -> None:
        self._guard = guard

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[aiohttp.abc.ResolveResult]:
        """Resolve ``host`` through the guard; the connector connects to these addresses and no others."""
        addresses = await self._guard.resolve(host, port)
        results: list[aiohttp.abc.ResolveResult] = []
        for address in addresses:
            address_family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
            if family not in (socket.AF_UNSPEC, address_family):
                continue
            results.append(
                {
                    "hostname": host,
                    "host": str(address),
                    "port": port,
                    "family": address_family,
                    "proto": 0,
                    "flags": socket.AI_NUMERICHOST,
                }
            )
        if not results:
            raise OSError(f"{host!r} has no address of family {family!r}")
        return results

    async def close(self) -> None:
        """Nothing to release: resolution goes through the guard's resolver callable."""


class GuardedTransport(httpx.AsyncBaseTransport):
    """Checks scheme and address-literal hosts, then hands the request to the connection transport."""

    def __init__(self, guard: AddressGuard, inner: httpx.AsyncBaseTransport) -> None:
        self._guard = guard
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Refuse non-http(s) URLs and forbidden literal addresses; names are checked at connect time."""
        if request.url.scheme not in ALLOWED_SCHEMES:
            raise UnsafeAddress(f"refusing scheme {request.url.scheme!r} in {request.url}")
        self._guard.check_literal(request.url.host)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._inner.aclose()


class GuardedSession:
    """The one guarded aiohttp session (connection pool) of a federation client, created lazily inside the
    event loop. ``request`` is the direct path: scheme and literal addresses checked here, host names at
    connect time by the connector's ``GuardedResolver``."""

    def __init__(
        self,
        guard: AddressGuard,
        *,
        max_connections: int,
        keepalive_seconds: float,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._guard = guard
        self._max_connections = max_connections
        self._keepalive_seconds = keepalive_seconds
        self._ssl_context = ssl_context or ssl.create_default_context()
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        """The aiohttp session, created on first use (it must be made inside the running loop)."""
        if self._session is None:
            # No DNS cache: each new connection resolves once through the guard. Kept-alive connections make
            # resolution rare anyway, and a cache would only keep answers past the moment they were checked.
            connector = aiohttp.TCPConnector(
                resolver=GuardedResolver(self._guard),
                use_dns_cache=False,
                limit=self._max_connections,
                keepalive_timeout=self._keepalive_seconds,
                ssl=self._ssl_context,
            )
            # No cookies: a federation client must not carry state from one remote to the next.
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,
                auto_decompress=False,
            )
        return self._session

    async def request(
        self,
        method: str,
        url: yarl.URL,
        *,
        headers: Mapping[str, str],
        body: bytes | None,
        timeout: aiohttp.ClientTimeout,
    ) -> aiohttp.ClientResponse:
        """Send one request, redirects not followed; the caller reads the body and releases the response.

        Refuses non-http(s) URLs and forbidden address literals (the same host string aiohttp connects to);
        names go through the guard when a connection is made."""
        if url.scheme not in ALLOWED_SCHEMES:
            raise UnsafeAddress(f"refusing scheme {url.scheme!r} in {url}")
        host = url.raw_host
        if not host:
            raise UnsafeAddress(f"refusing URL without a host: {url}")
        self._guard.check_literal(host)
        return await self.session().request(
            method, url, headers=headers, data=body, allow_redirects=False, timeout=timeout
        )

    async def aclose(self) -> None:
        """Close pooled connections."""
        if self._session is not None:
            await self._session.close()


def build_transport(session: GuardedSession, guard: AddressGuard) -> GuardedTransport:
    """The guarded httpx transport over ``session`` (the same connection pool as the direct path)."""
    inner = AiohttpTransport(client=session.session, trust_env=False)
    return GuardedTransport(guard, inner)


class _BoundedDecoder:
    """Decompresses gzip/deflate in steps that each produce at most ``limit`` bytes."""

    def __init__(self, encoding: str) -> None:
        self._gzip = encoding in ("gzip", "x-gzip")
        self._wbits = zlib.MAX_WBITS | 16 if self._gzip else zlib.MAX_WBITS
        self._decompressor = zlib.decompressobj(self._wbits)
        self._started = False

    def feed(self, data: bytes, limit: int) -> tuple[bytes, bytes]:
        """Decompress from ``data``; return the output and the input left for the next step."""
        if self._decompressor.eof:
            # Only another gzip member may follow a finished stream; trailing junk is ignored, as httpx does.
            if not (self._gzip and data.startswith(b"\x1f\x8b")):
                return b"", b""
            self._decompressor = zlib.decompressobj(self._wbits)
        try:
            output = self._decompressor.decompress(data, limit)
        except zlib.error:
            # "deflate" is often sent raw, without the zlib header; retry once that way, as browsers do.
            if self._gzip or self._started:
                raise
            self._decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
            output = self._decompressor.decompress(data, limit)
        self._started = True
        if self._decompressor.eof:
            return output, self._decompressor.unused_data
        return output, self._decompressor.unconsumed_tail


async def read_capped_body(response: httpx.Response, max_bytes: int) -> bytes:
    """Read the whole body, decompressed, raising ResponseTooLarge as soon as it passes ``max_bytes``."""
    return await _read_capped(response.aiter_raw(), response.headers, str(response.request.url), max_bytes)


async def read_capped_aiohttp_body(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    """``read_capped_body`` for a response of the direct path (aiohttp, not decompressed by aiohttp)."""
    headers = response.headers
    if headers.get("content-length") == "0":
        return b""
    return await _read_capped(response.content.iter_any(), headers, str(response.url), max_bytes)


async def _read_capped(
    raw_chunks: AsyncIterator[bytes], headers: Mapping[str, str], url: str, max_bytes: int
) -> bytes:
    encoding = headers.get("content-encoding", "identity").strip().lower() or "identity"
    if encoding not in ("identity", "gzip", "x-gzip", "deflate"):
        raise FetchError(f"{url}: unsupported Content-Encoding {encoding!r}")
    declared = headers.get("content-length", "")
    if encoding == "identity" and declared.isdigit() and int(declared) > max_bytes:
        raise ResponseTooLarge(f"{url}: Content-Length {declared} exceeds {max_bytes} bytes")
    decoder = None if encoding == "identity" else _BoundedDecoder(encoding)
    chunks: list[bytes] = []
    size = 0
    async for raw_chunk in raw_chunks:
        pending = raw_chunk
        while pending:
            if decoder is None:
                piece, rest = pending, b""
            else:
                try:
                    piece, rest = decoder.feed(pending, max_bytes - size + 1)
                except zlib.error as exc:
                    raise FetchError(f"{url}: corrupt {encoding} body: {exc}") from exc
                if not piece and rest == pending:
                    raise FetchError(f"{url}: {encoding} body makes no progress")
            pending = rest
            size += len(piece)
            if size > max_bytes:
                raise ResponseTooLarge(f"{url}: body exceeds {max_bytes} bytes")
            chunks.append(piece)
    return b"".join(chunks)
