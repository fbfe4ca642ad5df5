"""Real HTTP/1.1 servers on loopback addresses for the federation client tests.

They are raw asyncio servers rather than an ASGI app so a test can misbehave on the wire the way a hostile
remote would: drip a body byte by byte, lie about lengths, send a compression bomb.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest


@dataclass
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


#: Writes a whole response for a request. Returns True to keep the connection open for the next request.
RawHandler = Callable[[RecordedRequest, asyncio.StreamWriter], Awaitable[bool]]


@dataclass
class LocalServer:
    """A keep-alive HTTP/1.1 server on ``host`` that records every request and answers from its routes."""

    host: str = "127.0.0.1"
    port: int = 0
    requests: list[RecordedRequest] = field(default_factory=list)
    connections: int = 0
    routes: dict[str, RawHandler] = field(default_factory=dict)
    _server: asyncio.Server | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()

    @staticmethod
    def head(status: int, headers: dict[str, str]) -> bytes:
        """A response's status line and headers, for handlers that write the body themselves."""
        return response_head(status, headers)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def respond(
        self,
        path: str,
        body: bytes = b"",
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        close: bool = False,
    ) -> None:
        """Serve a fixed response at ``path``."""

        async def handler(request: RecordedRequest, writer: asyncio.StreamWriter) -> bool:
            all_headers = {"content-length": str(len(body)), **(headers or {})}
            if close:
                all_headers["connection"] = "close"
            writer.write(response_head(status, all_headers) + body)
            await writer.drain()
            return not close

        self.routes[path] = handler

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        """Redirect ``path`` to ``location``."""
        self.respond(path, status=status, headers={"location": location})

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        self.connections += 1
        try:
            keep_alive = True
            while keep_alive:
                request = await read_request(reader)
                if request is None:
                    break
                self.requests.append(request)
                handler = self.routes.get(request.path)
                if handler is None:
                    writer.write(response_head(404, {"content-length": "0"}))
                    await writer.drain()
                    continue
                keep_alive = await handler(request, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


def response_head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} X"] + [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def read_request(reader: asyncio.StreamReader) -> RecordedRequest | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    request_line, *header_lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
    method, path, _ = request_line.split(" ", 2)
    headers: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return RecordedRequest(method, path, headers, body)


ServerFactory = Callable[..., Awaitable[LocalServer]]


@pytest.fixture
async def local_server() -> AsyncIterator[ServerFactory]:
    """Start LocalServers (``await local_server("127.0.0.2", port=...)``); all are stopped after the test."""
    servers: list[LocalServer] = []

    async def start(host: str = "127.0.0.1", port: int = 0) -> LocalServer:
        server = LocalServer(host=host, port=port)
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.stop()
