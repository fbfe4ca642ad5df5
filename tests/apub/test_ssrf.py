"""Unit tests of the SSRF address tables, numeric host parsing and the resolving guard."""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import pytest

from apub.errors import FetchTimeout, UnsafeAddress
from apub.ssrf import FORBIDDEN_V4, FORBIDDEN_V6, AddressGuard, forbidden_reason, parse_numeric_host

FORBIDDEN_HOSTS = [
    # loopback, in every spelling inet_aton accepts
    "127.0.0.1",
    "127.255.255.254",
    "2130706433",
    "0x7f000001",
    "0X7F000001",
    "0x7f.1",
    "127.1",
    "127.0.1",
    "0177.0.0.1",
    "017700000001",
    "127.0.0.1.",
    # private, link-local, CGNAT
    "10.0.0.1",
    "10.255.255.255",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "100.127.255.255",
    # unspecified, multicast, reserved, documentation, benchmarking, broadcast
    "0.0.0.0",
    "0",
    "0.1.2.3",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.0.1",
    "192.0.2.1",
    "198.18.0.1",
    "198.19.255.255",
    "198.51.100.1",
    "203.0.113.1",
    "192.88.99.1",
    # IPv6 natives
    "::1",
    "[::1]",
    "::",
    "fe80::1",
    "fe80::1%eth0",
    "fe80::1%25eth0",
    "fc00::1",
    "fd12:3456:789a::1",
    "ff02::1",
    "fec0::1",
    "100::1",
    "2001:db8::1",
    "2001:2::1",
    "2001:10::1",
    "3fff::1",
    "5f00::1",
    # IPv6 forms embedding a forbidden IPv4
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::127.0.0.1",
    "::ffff:0:127.0.0.1",
    "64:ff9b::127.0.0.1",
    "64:ff9b::a9fe:a9fe",
    "2002:7f00:1::1",
    "2002:c0a8:101::1",
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, server 65.54.227.120, client 127.0.0.1
    "2001:0:a00:1::f7f7:f7f7",  # Teredo, server 10.0.0.1, client 8.8.8.8
    # deprecated / local-use embeddings are refused even around a public IPv4
    "::8.8.8.8",
    "::ffff:0:8.8.8.8",
    "64:ff9b:1::808:808",
    # outside 2000::/3
    "4000::1",
    "1::1",
]

PUBLIC_HOSTS = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "100.63.255.255",
    "100.128.0.0",
    "172.15.255.255",
    "172.32.0.0",
    "192.167.255.255",
    "192.169.0.0",
    "198.17.255.255",
    "198.20.0.0",
    "223.255.255.255",
    "2606:4700:4700::1111",
    "2a00:1450:4001:80b::200e",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
    "2001:0:4136:e378:8000:63bf:f7f7:f7f7",  # Teredo, server 65.54.227.120, client 8.8.8.8
]


@pytest.mark.parametrize("host", FORBIDDEN_HOSTS)
def test_forbidden_literal_hosts_are_refused(host: str) -> None:
    with pytest.raises(UnsafeAddress):
        AddressGuard().check_literal(host)


@pytest.mark.parametrize("host", PUBLIC_HOSTS)
def test_public_literal_hosts_pass(host: str) -> None:
    assert AddressGuard().check_literal(host) is not None


@pytest.mark.parametrize(("network", "reason"), [*FORBIDDEN_V4, *FORBIDDEN_V6], ids=lambda value: str(value))
def test_every_table_entry_refuses_its_first_and_last_address(
    network: ipaddress.IPv4Network | ipaddress.IPv6Network, reason: str
) -> None:
    assert forbidden_reason(network.network_address) is not None
    assert forbidden_reason(network.broadcast_address) is not None


@pytest.mark.parametrize(
    ("host", "address", "canonical"),
    [
        ("2130706433", "127.0.0.1", False),
        ("0x7f000001", "127.0.0.1", False),
        ("127.1", "127.0.0.1", False),
        ("127.0.1", "127.0.0.1", False),
        ("0177.0.0.1", "127.0.0.1", False),
        ("0x7f.0.0.0x1", "127.0.0.1", False),
        ("10.0x10.010.0", "10.16.8.0", False),
        ("0", "0.0.0.0", False),
        ("1.2.3.4", "1.2.3.4", True),
        ("[::1]", "::1", True),
        ("fe80::1%25eth0", "fe80::1", True),
    ],
)
def test_numeric_hosts_are_read_like_inet_aton(host: str, address: str, canonical: bool) -> None:
    numeric = parse_numeric_host(host)
    assert numeric is not None
    assert numeric.address == ipaddress.ip_address(address)
    assert numeric.canonical is canonical


@pytest.mark.parametrize(
    "host", ["example.com", "1.2.3.4.5", "256.1.1.1", "1.2.3.256", "08.0.0.1", "1..2", "0xg"]
)
def test_names_and_invalid_numbers_are_not_numeric(host: str) -> None:
    assert parse_numeric_host(host) is None


def test_non_canonical_spelling_of_a_public_address_is_refused() -> None:
    with pytest.raises(UnsafeAddress, match="non-canonical"):
        AddressGuard().check_literal("0x08080808")


def test_reason_names_the_embedded_address() -> None:
    reason = forbidden_reason(ipaddress.ip_address("::ffff:169.254.169.254"))
    assert reason is not None and "169.254.169.254" in reason and "link-local" in reason


def test_allow_list_is_the_only_relaxation() -> None:
    guard = AddressGuard(["127.0.0.0/8"])
    assert guard.check_literal("127.0.0.1") is not None
    assert guard.check_literal("127.9.9.9") is not None
    assert guard.check_literal("::ffff:127.0.0.1") is not None
    for host in ("10.0.0.1", "::1", "169.254.169.254", "::ffff:10.0.0.1"):
        with pytest.raises(UnsafeAddress):
            guard.check_literal(host)


def test_allow_list_logs_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    AddressGuard(["10.1.0.0/16"])
    assert any(record.levelname == "WARNING" and "10.1.0.0/16" in record.message for record in caplog.records)


def fixed_resolver(*answers: str):  # noqa: ANN201 - a small test helper
    calls: list[tuple[str, int]] = []

    async def resolve(host: str, port: int) -> list[str]:
        calls.append((host, port))
        return list(answers)

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


async def test_name_resolving_to_a_private_address_is_refused() -> None:
    guard = AddressGuard(resolver=fixed_resolver("10.0.0.5"))
    with pytest.raises(UnsafeAddress, match="10.0.0.5"):
        await guard.resolve("intranet.example", 443)


async def test_any_forbidden_answer_refuses_the_whole_name() -> None:
    guard = AddressGuard(resolver=fixed_resolver("8.8.8.8", "::ffff:127.0.0.1"))
    with pytest.raises(UnsafeAddress):
        await guard.resolve("mixed.example", 443)


async def test_public_answers_are_returned_in_order() -> None:
    resolver = fixed_resolver("8.8.8.8", "2606:4700:4700::1111")
    guard = AddressGuard(resolver=resolver)
    addresses = await guard.resolve("public.example", 443)
    assert addresses == [ipaddress.ip_address("8.8.8.8"), ipaddress.ip_address("2606:4700:4700::1111")]
    assert resolver.calls == [("public.example", 443)]  # type: ignore[attr-defined]


async def test_literals_never_reach_the_resolver() -> None:
    resolver = fixed_resolver("8.8.8.8")
    guard = AddressGuard(resolver=resolver)
    with pytest.raises(UnsafeAddress):
        await guard.resolve("2130706433", 80)
    assert await guard.resolve("1.1.1.1", 80) == [ipaddress.ip_address("1.1.1.1")]
    assert resolver.calls == []  # type: ignore[attr-defined]


async def test_no_answer_is_a_resolution_error() -> None:
    with pytest.raises(socket.gaierror):
        await AddressGuard(resolver=fixed_resolver()).resolve("empty.example", 80)


async def test_slow_resolver_times_out() -> None:
    async def never(host: str, port: int) -> list[str]:
        await asyncio.Event().wait()
        return []

    with pytest.raises(FetchTimeout):
        await AddressGuard(resolver=never, resolve_timeout=0.05).resolve("slow.example", 80)


async def test_system_resolver_refuses_localhost() -> None:
    with pytest.raises(UnsafeAddress):
        await AddressGuard().resolve("localhost", 80)
