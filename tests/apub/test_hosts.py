"""One host identity: every spelling of a host reads as one canonical host; malformed ones are refused."""

from __future__ import annotations

import pytest

from apub.errors import InvalidHost
from apub.hosts import (
    _origin_by_parsing,
    canonical_host,
    delivery_inbox,
    host_name,
    origin_of,
    same_origin,
)


@pytest.mark.parametrize(
    "spelling",
    [
        "blocked.test",
        "BLOCKED.test",
        "blocked.test.",
        "Blocked.Test.",
        "https://blocked.test/users/x",
        "https://BLOCKED.TEST:443/users/x",
        "https://blocked.test.:443/users/x",
        "HTTPS://blocked.test/",
        "http://blocked.test:80/x",
        "https://blocked.test:/x",
        "https://blocked.test?q=1",
        "https://blocked.test#frag",
        "http://blocked。test/x",  # ideographic full stop
        "http://ｂｌｏｃｋｅｄ.test/x",  # full-width letters
        "acct:ann@blocked.test",
        "acct:ann@BLOCKED.test.",
        "ann@blocked.test",
        "@ann@blocked.test:443",
    ],
)
def test_every_spelling_of_a_host_is_one_canonical_host(spelling: str) -> None:
    assert canonical_host(spelling) == "blocked.test"


@pytest.mark.parametrize(
    "spelling",
    [
        "bücher.test",
        "BÜCHER.test.",
        "https://bücher.test:443/u",
        "xn--bcher-kva.test",
        "http://XN--BCHER-KVA.test/",
    ],
)
def test_internationalised_names_become_a_labels(spelling: str) -> None:
    assert canonical_host(spelling) == "xn--bcher-kva.test"


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("http://blocked.test:443/x", "blocked.test:443"),  # 443 is not http's default port
        ("https://blocked.test:80/x", "blocked.test:80"),
        ("ann@blocked.test:8443", "blocked.test:8443"),
        ("http://127.0.0.1:8000/inbox", "127.0.0.1:8000"),
        ("http://[::1]:80/", "[::1]"),
        ("http://[0:0::1]:8080/", "[::1]:8080"),
        ("http://faß.de/", "xn--fa-hia.de"),  # IDNA 2008 (non-transitional), as httpx connects
        ("https://under_score.test/", "under_score.test"),
    ],
)
def test_ports_and_addresses(spelling: str, canonical: str) -> None:
    assert canonical_host(spelling) == canonical


@pytest.mark.parametrize(
    "malformed",
    [
        "",
        "http://x@blocked.test/users/x",  # userinfo
        "https://user:pass@blocked.test/",
        "https://evil.test\\@blocked.test/",
        "https://blocked.test@evil.test/",
        "acct:a@b@blocked.test",
        "http://blocked%2etest/",
        "http://bl ocked.test/",
        "http://blocked.test\t/",
        "http://blocked..test/",
        "http://.blocked.test/",
        "http://blocked.test:0/",
        "http://blocked.test:65536/",
        "http://blocked.test:+443/",
        "http://blocked.test:٤٤٣/",  # non-ASCII digits
        "http://blocked.test:443:443/",
        "http://xn--zz.test/",  # not a valid A-label
        "http://127.1/",
        "http://2130706433/",
        "http://0x7f000001/",
        "http://[::1/",
        "http://[fe80::1%25eth0]/",
        "ftp://blocked.test/",
        "https:///x",
        "blocked.test/path",
        "http://" + "a" * 64 + ".test/",
        "http://" + ".".join(["a" * 60] * 5) + "/",
    ],
)
def test_malformed_hosts_are_refused_not_read_as_another_host(malformed: str) -> None:
    with pytest.raises(InvalidHost):
        canonical_host(malformed)
    assert origin_of(malformed) is None


def test_invalid_host_is_a_value_error_mapped_to_400() -> None:
    assert issubclass(InvalidHost, ValueError)
    assert InvalidHost.status_code == 400


@pytest.mark.parametrize(
    "url",
    [
        "https://remote.example/users/ann",
        "http://127.0.0.1:8080/inbox",
        "http://127.0.0.1:80/inbox",
        "http://256.0.0.1/",
        "https://Remote.EXAMPLE:443?q=1",
        "https://remote.example#frag",
        "https://remote.example",
        "https://remote.example:",
        "https://remote.example:443/x",
        "http://remote.example:80/x",
        "https://remote.example:99999/x",
        "https://remote.example:08443/x",
        "https://remote.example./x",
        "https://user@remote.example/x",
        "https://evil.example\\@good.example/x",
        "https://ho\tst.example/x",
        "https://host.example\t/x",
        " https://host.example/x",
        "HTTPS://host.example/x",
        "https://[::1]:8443/x",
        "https://xn--bcher-kva.example/x",
        "https://bücher.example/x",
        "https:/host.example/x",
        "https://host.example;param/x",
        "https://host.example%2f/x",
        "https://a-.example/x",
        "https://0x7f.example/x",
    ],
)
def test_the_fast_path_agrees_with_the_full_canonicaliser(url: str) -> None:
    try:
        expected: str | None = _origin_by_parsing(url)
    except InvalidHost:
        expected = None
    assert origin_of(url) == expected


def test_same_origin_compares_canonical_origins() -> None:
    assert same_origin("https://a.test/u", "https://A.TEST.:443/inbox")
    assert not same_origin("https://a.test/u", "http://a.test/inbox")
    assert not same_origin("https://a.test/u", "https://a.test:8443/inbox")
    assert not same_origin("https://x@a.test/u", "https://a.test/u")
    assert not same_origin(None, None)


def test_host_name_drops_the_port() -> None:
    assert host_name("a.test:8443") == "a.test"
    assert host_name("[::1]:8443") == "[::1]"
    assert host_name("a.test") == "a.test"


@pytest.mark.parametrize(
    ("inbox", "shared", "personal", "chosen"),
    [
        ("https://a.test/u/inbox", "https://a.test/inbox", False, "https://a.test/inbox"),
        ("https://a.test/u/inbox", "https://b.test/inbox", False, "https://a.test/u/inbox"),
        ("https://a.test/u/inbox", "https://A.test.:443/inbox", False, "https://A.test.:443/inbox"),
        ("https://b.test/u/inbox", "https://b.test/inbox", False, None),
        ("https://a.test/u/inbox", "https://a.test/inbox", True, "https://a.test/u/inbox"),
        ("https://b.test/u/inbox", "https://a.test/inbox", True, None),
        ("https://x@a.test/u/inbox", None, False, None),
        ("http://a.test/u/inbox", None, False, None),  # a downgrade to plain http is another origin
        (None, None, False, None),
    ],
)
def test_delivery_inbox_stays_on_the_actors_origin(
    inbox: str | None, shared: str | None, personal: bool, chosen: str | None
) -> None:
    assert delivery_inbox("https://a.test/users/u", inbox, shared, personal=personal) == chosen


def test_our_own_host_is_recognised_in_every_spelling() -> None:
    from storage.urls import LocalUrls

    urls = LocalUrls("https://plein.example")
    for spelling in ("plein.example", "Plein.Example.", "plein.example:443", "acct:a@PLEIN.example"):
        assert urls.is_local_host(spelling), spelling
    assert urls.is_local("https://PLEIN.example.:443/users/alice")
    for other in ("plein.example:8443", "other.example", "x y", ""):
        assert not urls.is_local_host(other), other
    assert not urls.is_local("https://x@plein.example/users/alice")
