"""A signature is bound to this server: the signed `host` (draft-cavage, or an RFC 9421 `host` field) and the
RFC 9421 `@target-uri` / `@authority` must name our configured base URL, whatever `Host` header reaches us,
so a request signed for another server and replayed here is refused — on the inbox and on signed GETs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import orjson
import pytest

from apub.httpsig import cavage, rfc9421
from support.inbox_remote import AS2, RemoteActor
from support.inbox_world import InboxWorld, build_world

OTHER = "other.example"


def signed_for(
    url: str, body: bytes, actor: RemoteActor, scheme: str, components: tuple[str, ...] | None = None
):
    """Headers of a POST of `body` to `url` signed by `actor`, as a real server signs (Host included)."""
    headers = {"Content-Type": AS2, "Host": httpx.URL(url).netloc.decode()}
    if scheme == "cavage":
        headers.update(
            cavage.sign_request(
                "POST", url, headers, body, key_id=actor.key_id, private_key=actor.private_key
            )
        )
    else:
        headers.update(
            rfc9421.sign_request(
                "POST",
                url,
                headers,
                body,
                key_id=actor.key_id,
                private_key=actor.private_key,
                components=components,
            )
        )
    return headers


async def replay(
    world: InboxWorld,
    signed_url: str,
    scheme: str,
    components: tuple[str, ...] | None = None,
    host: str | None = None,
) -> httpx.Response:
    """Sign a Create(Note) of ann's for `signed_url`, send it to our shared inbox with the Host it was signed
    with (or `host`), and return the answer."""
    activity = world.ann.activity("Create", world.ann.note("<p>replayed?</p>"))
    body = orjson.dumps(activity)
    headers = signed_for(signed_url, body, world.ann, scheme, components)
    if host is not None:
        headers["Host"] = host
    return await world.client.post("/inbox", content=body, headers=headers)


SCHEMES = [
    pytest.param("cavage", None, id="cavage"),
    pytest.param("rfc9421", None, id="rfc9421-target-uri"),
    pytest.param("rfc9421", ("@method", "host", "@path", "content-digest", "date"), id="rfc9421-host-field"),
    pytest.param(
        "rfc9421", ("@method", "@authority", "@path", "content-digest", "date"), id="rfc9421-authority"
    ),
]


@pytest.mark.parametrize(("scheme", "components"), SCHEMES)
async def test_a_delivery_signed_for_another_server_is_refused(
    any_world: InboxWorld, scheme: str, components: tuple[str, ...] | None
) -> None:
    before = await any_world.counts()
    response = await replay(any_world, f"http://{OTHER}/inbox", scheme, components)
    assert response.status_code == 401, response.text
    assert "error" in response.json()
    await any_world.drain()
    assert await any_world.counts() == before


@pytest.mark.parametrize(("scheme", "components"), SCHEMES)
async def test_the_same_delivery_signed_for_us_is_accepted(
    any_world: InboxWorld, scheme: str, components: tuple[str, ...] | None
) -> None:
    response = await replay(any_world, f"{any_world.instance.base_url}/inbox", scheme, components)
    assert response.status_code == 202, response.text


@pytest.mark.parametrize(("scheme", "components"), SCHEMES)
async def test_a_proxy_rewriting_host_does_not_break_a_signature_made_for_us(
    world: InboxWorld, scheme: str, components: tuple[str, ...] | None
) -> None:
    # A reverse proxy that passes its upstream's name as Host: the sender signed our public name.
    response = await replay(world, f"{world.instance.base_url}/inbox", scheme, components, host="localhost:9")
    assert response.status_code == 202, response.text


async def test_our_host_in_another_spelling_is_ours(world: InboxWorld) -> None:
    url = f"{world.instance.base_url}/inbox".replace("127.0.0.1", "127.0.0.1")
    activity = world.ann.activity("Create", world.ann.note("<p>spelt</p>"))
    body = orjson.dumps(activity)
    authority = httpx.URL(url).netloc.decode()
    headers = {"Content-Type": AS2, "Host": authority.upper()}
    headers.update(
        cavage.sign_request(
            "POST", url, headers, body, key_id=world.ann.key_id, private_key=world.ann.private_key
        )
    )
    response = await world.client.post("/inbox", content=body, headers=headers)
    assert response.status_code == 202, response.text


@pytest.fixture
async def fetch_world(tmp_path: Path) -> AsyncIterator[InboxWorld]:
    async for built in build_world(tmp_path, **{"federation.authorized_fetch": True}):
        yield built


def signed_get(url: str, actor: RemoteActor, scheme: str) -> dict[str, str]:
    headers = {"Accept": AS2, "Host": httpx.URL(url).netloc.decode()}
    sign = cavage.sign_request if scheme == "cavage" else rfc9421.sign_request
    headers.update(sign("GET", url, headers, None, key_id=actor.key_id, private_key=actor.private_key))
    return headers


@pytest.mark.parametrize("scheme", ["cavage", "rfc9421"])
async def test_a_signed_get_made_for_another_server_is_refused(fetch_world: InboxWorld, scheme: str) -> None:
    path = f"/users/{fetch_world.alice.username}"
    refused = await fetch_world.client.get(
        path, headers=signed_get(f"http://{OTHER}{path}", fetch_world.ann, scheme)
    )
    assert refused.status_code == 401, refused.text
    accepted = await fetch_world.client.get(
        path, headers=signed_get(f"{fetch_world.instance.base_url}{path}", fetch_world.ann, scheme)
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["id"] == fetch_world.alice.uri
