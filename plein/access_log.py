"""The access log and request metrics: one record per HTTP request or WebSocket session, with its request id,
and the same request counted in the process's metrics by route template (`plein_http_requests`, latency;
streaming connections in a gauge instead, while they are open).

What it keeps is chosen for privacy (AVG/GDPR) and safety: the path without its query string (tokens travel
there: `?access_token=` on streaming), never a header or body, and the client's address only when the
operator turns `server.log_client_addresses` on. The request id is the one a trusted proxy sent in
`X-Request-Id` (so its log and ours line up), else a new one; it is answered in `X-Request-Id` and set in
`storage.request_ids.REQUEST_ID` for every record made while serving the request.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from plein.proxies import VIA_TRUSTED_PROXY
from storage.metrics import Metrics
from storage.request_ids import REQUEST_ID

logger = logging.getLogger("plein.access")
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,128}")
STREAMING_PREFIX = "/api/v1/streaming"


def request_id_of(scope: Scope) -> str:
    """The proxy's request id when a trusted proxy sent a well-formed one, else a new random id."""
    if scope.get(VIA_TRUSTED_PROXY):
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                candidate = value.decode("latin-1").strip()
                if REQUEST_ID_PATTERN.fullmatch(candidate):
                    return candidate
    return uuid.uuid4().hex


class AccessLogMiddleware:
    """Pure ASGI: logs each request once it is answered (WebSocket sessions once they end)."""

    def __init__(self, app: ASGIApp, *, log_client_addresses: bool = False) -> None:
        self.app = app
        self.log_client_addresses = log_client_addresses

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        token = REQUEST_ID.set(request_id)
        metrics = _metrics_of(scope)
        streaming = _is_streaming(scope)
        if streaming and metrics is not None:
            metrics.streaming_connections.labels(scope["type"]).inc()
        started = time.perf_counter()
        status = 0
        header = (b"x-request-id", request_id.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] in ("http.response.start", "websocket.http.response.start"):
                status = message["status"]
                message["headers"] = [*message.get("headers", []), header]
            elif message["type"] == "websocket.accept":
                status = 101
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            self._log(scope, status or 500, seconds)
            if metrics is not None:
                _count(metrics, scope, status or 500, seconds, streaming)
            REQUEST_ID.reset(token)

    def _log(self, scope: Scope, status: int, seconds: float) -> None:
        method = scope.get("method", "WS")
        path = scope.get("path", "")
        fields = {"method": method, "path": path, "status": status, "duration_ms": round(seconds * 1000, 1)}
        client = ""
        if self.log_client_addresses and scope.get("client"):
            fields["client"] = client = scope["client"][0]
        logger.info(
            "%s %s %d %.1fms%s",
            method,
            path,
            status,
            fields["duration_ms"],
            f" {client}" if client else "",
            extra=fields,
        )


def _metrics_of(scope: Scope) -> Metrics | None:
    ctx = scope.get("state", {}).get("ctx")
    return getattr(ctx, "metrics", None)


def _is_streaming(scope: Scope) -> bool:
    path: str = scope.get("path", "")
    return path.startswith(STREAMING_PREFIX) and not path.endswith("/health")


def _count(metrics: Metrics, scope: Scope, status: int, seconds: float, streaming: bool) -> None:
    """By the matched route's template (bounded cardinality), never the raw path."""
    route = scope.get("route")
    template = getattr(route, "path", None) or "unmatched"
    method = scope.get("method", "WS")
    metrics.http_requests.labels(template, method, str(status)).inc()
    if streaming:
        metrics.streaming_connections.labels(scope["type"]).dec()
    else:
        metrics.http_latency.labels(template, method).observe(seconds)
