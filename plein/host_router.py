"""The ASGI entry of a multi-domain install: the request's `Host` picks the domain's own application.

Each domain (tenant, `plein.tenants`) is a complete Plein application with its own Context, built and closed
by its own lifespan; this router only chooses. A Host that is not a configured domain gets 421 Misdirected
Request (RFC 9110 §15.5.20): this server is not authoritative for it, and answering with some other domain's
pages or actors would mix identities. A single-domain install never builds a router.

`Host` is what the client (or a reverse proxy passing `Host $host` on, as deploy/nginx does) asked for; no
forwarding header is read, so a client cannot reach a domain other than the one its request names.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

logger = logging.getLogger("plein.hosts")
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def request_host(scope: Scope) -> str:
    """The `Host` of a request, lower case, without the scheme's default port (`:443` on https)."""
    host = ""
    for name, value in scope.get("headers", ()):
        if name == b"host":
            host = value.decode("latin-1").strip().lower()
            break
    name, colon, port = host.rpartition(":")
    if colon and "]" not in port and port == str(DEFAULT_PORTS.get(scope.get("scheme", "http"), "")):
        return name
    return host


class HostRouter:
    """Dispatches each request to the application of its Host and runs every application's lifespan."""

    def __init__(self, apps: Mapping[str, Starlette]) -> None:
        self.apps = {domain.lower(): app for domain, app in apps.items()}
        self._states: dict[str, dict[str, Any]] = {domain: {} for domain in self.apps}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        host = request_host(scope)
        app = self.apps.get(host)
        if app is None:
            await self._misdirected(scope, host, receive, send)
            return
        # Each application's lifespan state (its Context) is its own: requests get a copy of the chosen one,
        # as a server gives a single application a copy of its state.
        await app({**scope, "state": dict(self._states[host])}, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        message = await receive()
        assert message["type"] == "lifespan.startup"
        async with contextlib.AsyncExitStack() as stack:
            try:
                for domain, app in self.apps.items():
                    state = await stack.enter_async_context(app.router.lifespan_context(app))
                    self._states[domain].update(state or {})
            except Exception as error:
                logger.exception("start-up failed")
                await send({"type": "lifespan.startup.failed", "message": repr(error)})
                return
            await send({"type": "lifespan.startup.complete"})
            message = await receive()
            assert message["type"] == "lifespan.shutdown"
        await send({"type": "lifespan.shutdown.complete"})

    async def _misdirected(self, scope: Scope, host: str, receive: Receive, send: Send) -> None:
        logger.warning("request for %r, which is not a domain of this server: 421", host)
        body = orjson.dumps({"error": "This server does not serve that host name"})
        prefix = "http"
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            if "websocket.http.response" not in scope.get("extensions", {}):
                await send({"type": "websocket.close", "code": 1008})  # the server answers 403
                return
            prefix = "websocket.http"  # the ASGI denial response: the handshake gets the same 421
        await send(
            {
                "type": f"{prefix}.response.start",
                "status": 421,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": f"{prefix}.response.body", "body": body})
