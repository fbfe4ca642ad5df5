"""Which network addresses the federation client may connect to.

Threat model: every URL we fetch or deliver to comes from a remote party (an actor document, a
WebFinger answer, an ``inReplyTo``, a redirect). Without a guard, anyone can make this server send
requests into its own network: the cloud metadata endpoint (169.254.169.254), an admin panel on
127.0.0.1, a database on 10.x. The guard refuses every address that is not ordinary global unicast.

The tables are explicit rather than ``ipaddress.is_global``/``is_private``, whose answers differ between
Python versions (3.11 misclassifies several blocks) and which do not look inside IPv6 forms that carry an
IPv4 address. Those forms are unwrapped and the IPv4 inside is checked too:

- IPv4-mapped ``::ffff:0:0/96``, IPv4-translated ``::ffff:0:0:0/96`` and IPv4-compatible ``::/96``
  (the last two are deprecated, so they are refused even when the IPv4 inside is public);
- NAT64 ``64:ff9b::/96`` (the well-known prefix; the local-use ``64:ff9b:1::/48`` is refused outright);
- 6to4 ``2002::/16`` (the IPv4 sits in bits 16-47);
- Teredo ``2001::/32`` (server IPv4 in bits 32-63, client IPv4 obfuscated in the last 32 bits).

IPv6 outside ``2000::/3`` (the only global unicast allocation) is refused after that unwrapping.

Hosts written as numbers are normalised the way ``inet_aton`` reads them (``2130706433``, ``0x7f000001``,
``127.1``, ``0177.0.0.1`` all mean 127.0.0.1) and then checked; a non-canonical spelling is refused even when
it names a public address, because no real peer needs one and HTTP stacks disagree on how to read it.

``allow_private_addresses`` (a list of CIDRs) is the only relaxation: an address inside one of them passes.
It exists for tests and closed deployments, and the guard logs a warning whenever it is set.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

from apub.errors import FetchTimeout, UnsafeAddress

__all__ = [
    "AddressGuard",
    "IPAddress",
    "NumericHost",
    "Resolver",
    "forbidden_reason",
    "parse_numeric_host",
    "system_resolver",
]

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Resolves ``(host, port)`` to address strings. Injectable so tests can play DNS.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network

FORBIDDEN_V4: tuple[tuple[ipaddress.IPv4Network, str], ...] = (
    (_V4("0.0.0.0/8"), "this-network / unspecified"),
    (_V4("10.0.0.0/8"), "private"),
    (_V4("100.64.0.0/10"), "carrier-grade NAT"),
    (_V4("127.0.0.0/8"), "loopback"),
    (_V4("169.254.0.0/16"), "link-local"),
    (_V4("172.16.0.0/12"), "private"),
    (_V4("192.0.0.0/24"), "IETF protocol assignments"),
    (_V4("192.0.2.0/24"), "documentation (TEST-NET-1)"),
    (_V4("192.88.99.0/24"), "6to4 relay anycast (deprecated)"),
    (_V4("192.168.0.0/16"), "private"),
    (_V4("198.18.0.0/15"), "benchmarking"),
    (_V4("198.51.100.0/24"), "documentation (TEST-NET-2)"),
    (_V4("203.0.113.0/24"), "documentation (TEST-NET-3)"),
    (_V4("224.0.0.0/4"), "multicast"),
    (_V4("240.0.0.0/4"), "reserved"),
    (_V4("255.255.255.255/32"), "broadcast"),
)

FORBIDDEN_V6: tuple[tuple[ipaddress.IPv6Network, str], ...] = (
    (_V6("::/128"), "unspecified"),
    (_V6("::1/128"), "loopback"),
    (_V6("64:ff9b:1::/48"), "local-use NAT64"),
    (_V6("100::/64"), "discard-only"),
    # The whole IETF protocol block; Teredo (2001::/32) inside it is unwrapped before this table.
    (_V6("2001::/23"), "IETF protocol assignments"),
    (_V6("2001:db8::/32"), "documentation"),
    (_V6("3fff::/20"), "documentation"),
    (_V6("5f00::/16"), "SRv6 segment identifiers"),
    (_V6("fc00::/7"), "unique local (private)"),
    (_V6("fe80::/10"), "link-local"),
    (_V6("fec0::/10"), "site-local (deprecated)"),
    (_V6("ff00::/8"), "multicast"),
)

GLOBAL_UNICAST_V6 = _V6("2000::/3")
_MAPPED = _V6("::ffff:0:0/96")
_TRANSLATED = _V6("::ffff:0:0:0/96")
_COMPATIBLE = _V6("::/96")
_NAT64 = _V6("64:ff9b::/96")
_SIX_TO_FOUR = _V6("2002::/16")
_TEREDO = _V6("2001::/32")


@dataclass(frozen=True)
class NumericHost:
    """A host that is an address literal: the address it denotes and whether it was spelled canonically."""

    address: IPAddress
    canonical: bool


def _parse_inet_aton_part(part: str) -> int | None:
    """One dotted part as inet_aton reads it: 0x-prefixed hex, 0-prefixed octal, else decimal."""
    if part[:2] in ("0x", "0X"):
        digits, base = part[2:], 16
    elif len(part) > 1 and part[0] == "0":
        digits, base = part[1:], 8
    else:
        digits, base = part, 10
    if not digits:
        return 0 if base == 16 else None
    try:
        return int(digits, base)
    except ValueError:
        return None


def _parse_inet_aton(host: str) -> ipaddress.IPv4Address | None:
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or any(not part or not part.isascii() for part in parts):
        return None
    values = [_parse_inet_aton_part(part) for part in parts]
    if any(value is None for value in values):
        return None
    numbers = [value for value in values if value is not None]
    # Leading parts are single bytes; the last part fills all the bytes that remain.
    last_bits = 8 * (5 - len(numbers))
    if any(value > 0xFF for value in numbers[:-1]) or numbers[-1] >= 1 << last_bits:
        return None
    packed = 0
    for value in numbers[:-1]:
        packed = (packed << 8) | value
    packed = (packed << last_bits) | numbers[-1]
    return ipaddress.IPv4Address(packed)


def parse_numeric_host(host: str) -> NumericHost | None:
    """Read ``host`` as an address literal (IPv4 in any inet_aton spelling, or IPv6); None for a name."""
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if ":" in bare:
        # Zone ids (``%eth0``, URL-encoded as ``%25eth0``) do not change which address is meant.
        try:
            return NumericHost(ipaddress.IPv6Address(bare.split("%", 1)[0]), canonical=True)
        except ValueError:
            return None
    dotted = bare[:-1] if bare.endswith(".") else bare
    address = _parse_inet_aton(dotted)
    if address is None:
        return None
    return NumericHost(address, canonical=bare == str(address))


def _in_allowed(address: IPAddress, allowed: Iterable[Network]) -> bool:
    return any(address.version == network.version and address in network for network in allowed)


def _forbidden_v4(address: ipaddress.IPv4Address, allowed: Sequence[Network]) -> str | None:
    if _in_allowed(address, allowed):
        return None
    for network, reason in FORBIDDEN_V4:
        if address in network:
            return f"{address} is {reason} ({network})"
    return None


def _embedded_v4(address: ipaddress.IPv6Address) -> list[tuple[ipaddress.IPv4Address, str]]:
    """The IPv4 addresses an IPv6 form carries, each with the name of the form."""
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _MAPPED:
        return [(low32, "IPv4-mapped")]
    if address in _TRANSLATED:
        return [(low32, "IPv4-translated")]
    if address in _NAT64:
        return [(low32, "NAT64")]
    if address in _COMPATIBLE:
        return [(low32, "IPv4-compatible")]
    if address in _SIX_TO_FOUR:
        return [(ipaddress.IPv4Address((int(address) >> 80) & 0xFFFFFFFF), "6to4")]
    if address in _TEREDO:
        server = ipaddress.IPv4Address((int(address) >> 64) & 0xFFFFFFFF)
        client = ipaddress.IPv4Address(~int(address) & 0xFFFFFFFF)
        return [(server, "Teredo server"), (client, "Teredo client")]
    return []


def forbidden_reason(address: IPAddress, allowed: Sequence[Network] = ()) -> str | None:
    """Why connecting to ``address`` is refused, or None when it is an ordinary global address.

    ``allowed`` networks pass whatever the tables say; an IPv6 form that embeds an allowed IPv4 passes too.
    """
    if address.version == 4:
        return _forbidden_v4(address, allowed)
    if _in_allowed(address, allowed):
        return None
    for network, reason in FORBIDDEN_V6[:2]:  # :: and ::1 read better as themselves than as ::/96
        if address in network:
            return f"{address} is {reason}"
    embedded = _embedded_v4(address)
    for inner, form in embedded:
        inner_reason = _forbidden_v4(inner, allowed)
        if inner_reason is not None:
            return f"{address} is {form} for {inner_reason}"
    if embedded and (
        address in _MAPPED or address in _NAT64 or address in _SIX_TO_FOUR or address in _TEREDO
    ):
        return None
    if embedded and all(_in_allowed(inner, allowed) for inner, _ in embedded):
        return None
    for network, reason in FORBIDDEN_V6:
        if address in network:
            return f"{address} is {reason} ({network})"
    if address not in GLOBAL_UNICAST_V6:
        return f"{address} is outside global unicast ({GLOBAL_UNICAST_V6})"
    return None


async def system_resolver(host: str, port: int) -> list[str]:
    """Resolve ``host`` with the event loop's getaddrinfo; addresses in the resolver's order, deduplicated."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_ADDRCONFIG
    )
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class AddressGuard:
    """Resolves hosts and refuses forbidden addresses; the single decision point for outbound connections."""

    def __init__(
        self,
        allow_private_addresses: Sequence[str] = (),
        *,
        resolver: Resolver | None = None,
        resolve_timeout: float = 5.0,
    ) -> None:
        self.allowed_networks: tuple[Network, ...] = tuple(
            ipaddress.ip_network(cidr, strict=False) for cidr in allow_private_addresses
        )
        self._resolver: Resolver = resolver or system_resolver
        self._resolve_timeout = resolve_timeout
        if self.allowed_networks:
            logger.warning(
                "SSRF guard relaxed: outbound federation requests may reach %s. "
                "Never set allow_private_addresses on a public server.",
                ", ".join(str(network) for network in self.allowed_networks),
            )

    def check_address(self, address: IPAddress, host: str) -> None:
        """Raise UnsafeAddress when ``address`` (which ``host`` names) may not be connected to."""
        reason = forbidden_reason(address, self.allowed_networks)
        if reason is not None:
            raise UnsafeAddress(f"refusing to connect to {host!r}: {reason}")

    def check_literal(self, host: str) -> IPAddress | None:
        """Check ``host`` if it is an address literal and return the address; None when it is a name."""
        numeric = parse_numeric_host(host)
        if numeric is None:
            return None
        self.check_address(numeric.address, host)
        if not numeric.canonical:
            raise UnsafeAddress(f"refusing non-canonical numeric host {host!r} (means {numeric.address})")
        return numeric.address

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Resolve ``host`` once and return its addresses, refusing if ANY of them is forbidden.

        Callers must connect only to the addresses returned, never resolve again: that second lookup is
        the DNS-rebinding window.
        """
        literal = self.check_literal(host)
        if literal is not None:
            return [literal]
        try:
            async with asyncio.timeout(self._resolve_timeout):
                answers = await self._resolver(host, port)
        except TimeoutError as exc:
            raise FetchTimeout(f"resolving {host!r} took longer than {self._resolve_timeout}s") from exc
        if not answers:
            raise socket.gaierror(socket.EAI_NONAME, f"{host!r} has no addresses")
        addresses = [ipaddress.ip_address(answer.split("%", 1)[0]) for answer in answers]
        for address in addresses:
            self.check_address(address, host)
        return addresses
