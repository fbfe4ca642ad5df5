"""Every path id and query integer of every route, through the real endpoints, with values that are not
canonical ids: Unicode digits (which `int()` and `str.isdigit` accept), more digits than a BIGINT holds, a
sign, an exponent, nothing. A path id answers 404, a query parameter 400 or 422 — never 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from storage.ids import MAX_ID, parse_id
from support.instance import RunningInstance, make_settings, serve_in_process
from support.oauth import bearer, make_token

HOSTILE = ["²", "١٢٣", "12345678901234567890", str(MAX_ID + 1), "-1", "1e3", "+1", "01", " 1", "1_0", ""]
MEDIA_SECRET = "0123456789abcdef0123456789abcdef"


@dataclass(frozen=True)
class Probe:
    """One route with `{v}` where the hostile value goes, and the statuses a hostile value may get."""

    method: str
    template: str
    refused: frozenset[int]
    lenient: tuple[str, ...] = ()  # values that may also get 200 ("" read as absent, a clamped integer)


def path_id(method: str, template: str) -> Probe:
    return Probe(method, template, frozenset({404, 405, 307}))  # 307: "" leaves a trailing slash


def query(template: str, *statuses: int, lenient: tuple[str, ...] = ()) -> Probe:
    return Probe("GET", template, frozenset(statuses), lenient)


ABSENT = ("",)
INTEGER = ("", "-1", "01")  # integers, not ids: a limit is clamped, a zero-padded number is still one


PROBES = [
    path_id("GET", "/@alice/{v}"),
    path_id("GET", "/users/alice/statuses/{v}"),
    path_id("GET", "/users/alice/statuses/{v}/activity"),
    path_id("GET", "/users/alice/statuses/{v}/replies"),
    path_id("GET", "/activities/{v}"),
    path_id("GET", "/media/{v}_" + MEDIA_SECRET + "/original.png"),
    path_id("GET", "/api/v1/statuses/{v}"),
    path_id("GET", "/api/v1/statuses/{v}/context"),
    path_id("POST", "/api/v1/statuses/{v}/favourite"),
    path_id("GET", "/api/v1/accounts/{v}"),
    path_id("GET", "/api/v1/accounts/{v}/statuses"),
    path_id("POST", "/api/v1/accounts/{v}/follow"),
    path_id("GET", "/api/v1/media/{v}"),
    path_id("GET", "/api/v1/notifications/{v}"),
    path_id("POST", "/api/v1/follow_requests/{v}/authorize"),
    query("/users/alice/statuses/{status}/replies?page=true&max_id={v}", 400, lenient=ABSENT),
    query("/users/alice/outbox?page=true&max_id={v}", 400, lenient=ABSENT),
    query("/users/alice/followers?page={v}", 400),
    query("/users/alice/following?page={v}", 400),
    query("/api/v1/accounts/search?q=alice&offset={v}", 422, lenient=INTEGER),
    query("/api/v2/search?q=alice&offset={v}", 422, lenient=INTEGER),
    query("/api/v1/accounts/search?q=alice&offset=" + str(1 << 63), 422),
    query("/api/v2/search?q=alice&offset=" + str(1 << 63), 422),
    query("/api/v1/accounts/relationships?id[]={v}", 422),
    query("/api/v1/timelines/public?limit={v}", 422, lenient=INTEGER),
    query("/api/v1/accounts/search?q=alice&limit={v}", 422, lenient=INTEGER),
    # Pagination ids that are not ours are read as absent, as Mastodon reads them.
    query("/api/v1/timelines/home?max_id={v}", 200),
    query("/api/v1/notifications?since_id={v}", 200),
]


@pytest.fixture
async def instance(tmp_path: Path, database_url: str) -> AsyncIterator[RunningInstance]:
    async with serve_in_process(make_settings(tmp_path, database_url=database_url)) as running:
        yield running


async def _status_of_alice(client: httpx.AsyncClient, token: str) -> str:
    response = await client.post("/api/v1/statuses", data={"status": "hello"}, headers=bearer(token))
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


async def test_no_hostile_id_or_integer_reaches_the_database(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    token = await make_token(instance.ctx, "alice")
    failures = []
    async with instance.client(headers={**bearer(token), "Accept": "application/activity+json"}) as client:
        status_id = await _status_of_alice(client, token)
        for probe in PROBES:
            for value in HOSTILE:
                url = probe.template.format(v=value, status=status_id)
                response = await client.request(probe.method, url)
                allowed = probe.refused | ({200} if value in probe.lenient else set())
                if response.status_code not in allowed:
                    failures.append(f"{probe.method} {url} → {response.status_code} {response.text[:80]}")
                elif response.status_code >= 400 and "json" in response.headers.get("content-type", ""):
                    assert "error" in response.json(), url
    assert not failures, "\n".join(failures)


async def test_canonical_ids_and_integers_still_work(instance: RunningInstance) -> None:
    """Positive control: the same routes with well-formed values answer as before."""
    assert instance.ctx is not None
    token = await make_token(instance.ctx, "alice")
    async with instance.client(headers={**bearer(token), "Accept": "application/activity+json"}) as client:
        status_id = await _status_of_alice(client, token)
        me = (await client.get("/api/v1/accounts/verify_credentials")).json()["id"]
        for url in [
            f"/users/alice/statuses/{status_id}",
            f"/users/alice/statuses/{status_id}/activity",
            f"/users/alice/statuses/{status_id}/replies?page=true&max_id={MAX_ID}",
            f"/users/alice/outbox?page=true&max_id={MAX_ID}",
            "/users/alice/followers?page=1",
            f"/api/v1/statuses/{status_id}",
            f"/api/v1/accounts/{me}",
            f"/api/v1/accounts/relationships?id[]={me}",
            "/api/v1/accounts/search?q=alice&offset=0&limit=5",
            "/api/v2/search?q=alice&offset=1",
            "/api/v1/timelines/public?limit=2",
        ]:
            response = await client.get(url)
            assert response.status_code == 200, f"{url}: {response.status_code} {response.text}"
        outbox = (await client.get(f"/users/alice/outbox?page=true&max_id={MAX_ID}")).json()
        assert len(outbox["orderedItems"]) == 1
        page = await client.get(f"/@alice/{status_id}", headers={"Accept": "text/html"})
        assert page.status_code == 200 and "hello" in page.text


async def test_update_credentials_with_hostile_field_indices(instance: RunningInstance) -> None:
    """`fields_attributes[²]` once answered 500: bracket indices are read as ASCII integers or kept as
    names, so any index orders the fields and none crashes."""
    assert instance.ctx is not None
    token = await make_token(instance.ctx, "alice")
    async with instance.client(headers=bearer(token)) as client:
        for index in HOSTILE:
            response = await client.patch(
                "/api/v1/accounts/update_credentials",
                data={f"fields_attributes[{index}][name]": "site", f"fields_attributes[{index}][value]": "x"},
            )
            assert response.status_code in (200, 422), f"{index!r}: {response.status_code} {response.text}"
        response = await client.patch(
            "/api/v1/accounts/update_credentials",
            data={
                "fields_attributes[1][name]": "second",
                "fields_attributes[1][value]": "b",
                "fields_attributes[0][name]": "first",
                "fields_attributes[0][value]": "a",
            },
        )
        assert response.status_code == 200, response.text
        assert [field["name"] for field in response.json()["fields"]] == ["first", "second"]


@pytest.mark.parametrize("value", HOSTILE)
def test_parse_id_refuses_every_non_canonical_spelling(value: str) -> None:
    assert parse_id(value) is None


def test_parse_id_reads_canonical_ids() -> None:
    assert parse_id("0") == 0
    assert parse_id("123") == 123
    assert parse_id(str(MAX_ID)) == MAX_ID
    assert parse_id(42) == 42
    assert parse_id(True) is None and parse_id(-1) is None and parse_id(MAX_ID + 1) is None
