"""The client's address: the TCP peer, or what a trusted reverse proxy says it forwarded for.

`client_address` is the one decision; `ForwardedClientMiddleware` applies it to every HTTP and WebSocket
request by rewriting the ASGI scope's `client` (and `scheme`), so login throttling (`request.client`) and
uvicorn's access log (which reads the same scope) see the same address. uvicorn's own proxy-header handling is
off (`plein.cli`): it trusts loopback by default, which would let any local client choose its address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# Set in the ASGI scope when the request came through a trusted proxy, whose other headers (X-Request-Id)
# may then be believed too.
VIA_TRUSTED_PROXY = "plein.via_trusted_proxy"
FORWARDED_SCHEMES = {"http": ("http", "ws"), "https": ("https", "wss")}


def trusted_networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """The networks of `server.trusted_proxies` (validated CIDRs)."""
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def _is_trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(peer: str, forwarded_for: str | None, networks: tuple[Network, ...]) -> str:
    """The address to hold the client to: `peer` unless `peer` is a trusted proxy, then the right-most
    address of X-Forwarded-For that is not itself a trusted proxy (each proxy appends the address it saw, so
    everything left of the first untrusted entry was written by the client and proves nothing)."""
    if not forwarded_for or not _is_trusted(peer, networks):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",")]
    for hop in reversed(hops):
        if not _is_trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # a garbled entry: the last proxy we trust is the best we know
    return hops[0]  # every hop is a trusted proxy (each one a valid address): the first is the origin


class ForwardedClientMiddleware:
    """Pure ASGI: sets `scope["client"]` (and the scheme) from a trusted proxy's forwarding headers."""

    def __init__(self, app: ASGIApp, trusted_proxies: Iterable[str] = ()) -> None:
        self.app = app
        self.networks = trusted_networks(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.networks and scope["type"] in ("http", "websocket") and scope.get("client"):
            peer = scope["client"][0]
            # Several header lines are one list, in order (RFC 9110 §5.3): the last proxy's entry stays last.
            forwarded_for = ", ".join(
                value.decode("latin-1") for name, value in scope["headers"] if name == b"x-forwarded-for"
            )
            scope[VIA_TRUSTED_PROXY] = _is_trusted(peer, self.networks)
            address = client_address(peer, forwarded_for, self.networks)
            if address != peer:
                scope["client"] = (address, 0)  # the same dict uvicorn logs from
                proto = (
                    dict(scope["headers"]).get(b"x-forwarded-proto", b"").decode("latin-1").strip().lower()
                )
                if proto in FORWARDED_SCHEMES:
                    scope["scheme"] = FORWARDED_SCHEMES[proto][scope["type"] == "websocket"]
        await self.app(scope, receive, send)
