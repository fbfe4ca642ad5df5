"""Discovery and actors over real HTTP: WebFinger, host-meta, NodeInfo, actor documents, content
negotiation, the HTML profile and the health probes."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from storage.accounts import create_local_account
from storage.urls import LocalUrls
from support.instance import RunningInstance, make_settings, serve_in_process

AS2 = "application/activity+json"
LD = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


@pytest.fixture
async def instance(tmp_path: Path, database_url: str) -> AsyncIterator[RunningInstance]:
    settings = make_settings(tmp_path, database_url=database_url, **{"registration.mode": "open"})
    async with serve_in_process(settings) as running:
        assert running.ctx is not None
        async with running.ctx.db.transaction() as session:
            await create_local_account(
                session, LocalUrls(running.base_url), username="minister", password_hash="x"
            )
        yield running


async def test_webfinger_acct_and_actor_url(instance: RunningInstance) -> None:
    domain = instance.settings.domain
    async with instance.client() as client:
        response = await client.get("/.well-known/webfinger", params={"resource": f"acct:minister@{domain}"})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/jrd+json")
        assert response.headers["access-control-allow-origin"] == "*"
        document = response.json()
        assert document["subject"] == f"acct:minister@{domain}"
        self_link = next(link for link in document["links"] if link["rel"] == "self")
        assert self_link == {"rel": "self", "type": AS2, "href": f"{instance.base_url}/users/minister"}
        profile = next(link for link in document["links"] if link["rel"].endswith("profile-page"))
        assert profile["href"] == f"{instance.base_url}/@minister"
        by_url = await client.get(
            "/.well-known/webfinger", params={"resource": f"{instance.base_url}/users/minister"}
        )
        assert by_url.json()["subject"] == document["subject"]
        upper = await client.get("/.well-known/webfinger", params={"resource": f"acct:MINISTER@{domain}"})
        assert upper.status_code == 200


@pytest.mark.parametrize(
    ("resource", "status"),
    [
        (None, 400),
        ("", 400),
        ("acct:", 400),
        ("acct:nobody", 400),
        ("acct:@", 400),
        ("acct:nobody@{domain}", 404),
        ("acct:minister@elsewhere.example", 404),
        ("https://elsewhere.example/users/minister", 404),
    ],
)
async def test_webfinger_errors(instance: RunningInstance, resource: str | None, status: int) -> None:
    params = {} if resource is None else {"resource": resource.format(domain=instance.settings.domain)}
    async with instance.client() as client:
        response = await client.get("/.well-known/webfinger", params=params)
    assert response.status_code == status
    assert "error" in response.json()


async def test_host_meta_and_nodeinfo(instance: RunningInstance) -> None:
    async with instance.client() as client:
        xrd = await client.get("/.well-known/host-meta")
        assert xrd.headers["content-type"].startswith("application/xrd+xml")
        assert f'template="{instance.base_url}/.well-known/webfinger?resource={{uri}}"' in xrd.text
        as_json = (await client.get("/.well-known/host-meta.json")).json()
        assert as_json["links"][0]["rel"] == "lrdd"
        links = (await client.get("/.well-known/nodeinfo")).json()["links"]
        assert [link["href"] for link in links] == [
            f"{instance.base_url}/nodeinfo/2.0",
            f"{instance.base_url}/nodeinfo/2.1",
        ]
        for version in ("2.0", "2.1"):
            document = (await client.get(f"/nodeinfo/{version}")).json()
            assert document["version"] == version
            assert document["software"]["name"] == "plein"
            assert document["openRegistrations"] is True
            assert document["usage"]["users"]["total"] == 1
            assert document["protocols"] == ["activitypub"]
        assert (await client.get("/nodeinfo/9.9")).status_code == 404


@pytest.mark.parametrize("accept", [AS2, LD])
async def test_actor_document(instance: RunningInstance, accept: str) -> None:
    actor_url = f"{instance.base_url}/users/minister"
    async with instance.client() as client:
        response = await client.get("/users/minister", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(AS2)
    actor = response.json()
    assert "https://www.w3.org/ns/activitystreams" in actor["@context"]
    assert actor["id"] == actor_url and actor["type"] == "Person"
    assert actor["preferredUsername"] == "minister"
    for key in ("inbox", "outbox", "followers", "following", "featured"):
        assert actor[key].startswith(actor_url)
    assert actor["endpoints"]["sharedInbox"] == f"{instance.base_url}/inbox"
    assert actor["publicKey"]["id"] == f"{actor_url}#main-key"
    assert actor["publicKey"]["owner"] == actor_url
    assert actor["publicKey"]["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
    multikey = actor["assertionMethod"][0]
    assert multikey["type"] == "Multikey" and multikey["publicKeyMultibase"].startswith("z6Mk")
    for key in (
        "manuallyApprovesFollowers",
        "discoverable",
        "indexable",
        "published",
        "url",
        "name",
        "summary",
    ):
        assert key in actor


async def test_browser_gets_html_profile(instance: RunningInstance) -> None:
    async with instance.client(follow_redirects=True) as client:
        response = await client.get("/users/minister", headers={"Accept": "text/html,application/xhtml+xml"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert re.search(r'class="[^"]*\bh-card\b', response.text) and "@minister@" in response.text
    assert "<script" not in response.text


async def test_unknown_account_is_404_everywhere(instance: RunningInstance) -> None:
    async with instance.client() as client:
        assert (await client.get("/users/nobody", headers={"Accept": AS2})).status_code == 404
        assert (await client.get("/@nobody")).status_code == 404
        assert (await client.get("/users/nobody/followers", headers={"Accept": AS2})).status_code == 404


async def test_collections_are_paged(instance: RunningInstance) -> None:
    async with instance.client() as client:
        head = (await client.get("/users/minister/followers", headers={"Accept": AS2})).json()
        assert head["type"] == "OrderedCollection" and head["totalItems"] == 0
        page = (await client.get(head["first"], headers={"Accept": AS2})).json()
        assert page["type"] == "OrderedCollectionPage" and page["orderedItems"] == []
        assert page["partOf"] == head["id"]
        bad = await client.get("/users/minister/following?page=x", headers={"Accept": AS2})
        assert bad.status_code == 400


async def test_instance_actor(instance: RunningInstance) -> None:
    async with instance.client() as client:
        actor = (await client.get("/actor", headers={"Accept": AS2})).json()
    assert actor["type"] == "Application" and actor["id"] == f"{instance.base_url}/actor"
    assert actor["publicKey"]["owner"] == actor["id"]


async def test_health(instance: RunningInstance) -> None:
    async with instance.client() as client:
        assert (await client.get("/livez")).json() == {"status": "ok"}
        for path in ("/readyz", "/health"):  # /health: Mastodon's path, which monitoring set-ups probe
            ready = await client.get(path)
            assert ready.status_code == 200 and ready.json()["database"] == "ok"
        missing = await client.get("/no/such/route")
        assert missing.status_code == 404 and missing.json() == {"error": "Not Found"}


async def test_plain_http_client_follows_redirect_to_profile(instance: RunningInstance) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{instance.base_url}/users/minister")
    assert response.status_code == 302
    assert response.headers["location"] == f"{instance.base_url}/@minister"


async def test_front_page(instance: RunningInstance) -> None:
    async with instance.client() as client:
        response = await client.get("/")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert instance.settings.instance.name in response.text and "1 account" in response.text
