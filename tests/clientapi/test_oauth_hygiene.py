"""OAuth hygiene through the real endpoints: app URLs a browser could run are refused and never linked, and a
reused authorization code revokes what it issued (RFC 6749 §4.1.2)."""

from __future__ import annotations

import re

import httpx
import pytest

from storage.oauth import create_app, create_token
from support.instance import RunningInstance
from support.oauth import OOB, authorization_code, bearer, make_user, register_app

PASSWORD = "correct horse battery staple"
HOSTILE_URLS = [
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    " javascript:alert(1)",
    "javascript://x%0Aalert(document.cookie)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
]


@pytest.mark.parametrize("website", [*HOSTILE_URLS, "https://", "ftp://files.example/", "/relative"])
async def test_app_website_must_be_a_web_url(instance: RunningInstance, website: str) -> None:
    async with instance.client() as client:
        refused = await client.post(
            "/api/v1/apps", data={"client_name": "x", "redirect_uris": OOB, "website": website}
        )
    assert refused.status_code == 422, refused.text
    assert "website" in refused.json()["error"]


@pytest.mark.parametrize("redirect_uri", HOSTILE_URLS)
async def test_redirect_uri_refuses_schemes_a_browser_runs(
    instance: RunningInstance, redirect_uri: str
) -> None:
    async with instance.client() as client:
        refused = await client.post("/api/v1/apps", data={"client_name": "x", "redirect_uris": redirect_uri})
    assert refused.status_code == 422, refused.text
    assert isinstance(refused.json()["error"], str)


async def test_web_urls_oob_and_native_app_schemes_are_accepted(instance: RunningInstance) -> None:
    redirects = [OOB, "https://app.example/cb", "http://127.0.0.1:4000/cb", "com.example.app:/callback"]
    async with instance.client() as client:
        registered = await client.post(
            "/api/v1/apps",
            json={"client_name": "Good", "redirect_uris": redirects, "website": "https://app.example/about"},
        )
    assert registered.status_code == 200, registered.text
    assert registered.json()["redirect_uris"] == redirects
    assert registered.json()["website"] == "https://app.example/about"


async def _consent_page(client: httpx.AsyncClient, client_id: str) -> str:
    page = await client.get("/oauth/authorize", params={"client_id": client_id, "redirect_uri": OOB})
    assert page.status_code == 200, page.text
    return page.text


async def test_consent_page_links_only_a_web_website(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    async with instance.ctx.db.transaction() as session:  # rows registered before websites were checked
        stored, _ = await create_app(
            session, name="Old", redirect_uris=[OOB], scopes="read", website="javascript:alert(1)"
        )
        good, _ = await create_app(
            session, name="Good", redirect_uris=[OOB], scopes="read", website="https://app.example/"
        )
    async with instance.client() as client:
        hostile_page = await _consent_page(client, stored.client_id)
        good_page = await _consent_page(client, good.client_id)
        async with instance.ctx.db.transaction() as session:
            _, stored_token = await create_token(session, app=stored, user=None, scopes="read")
        handed_out = await client.get("/api/v1/apps/verify_credentials", headers=bearer(stored_token))
    assert handed_out.status_code == 200 and handed_out.json()["website"] is None  # clients link it too
    assert "javascript:" not in hostile_page.lower()
    assert not re.search(r"<a\b[^>]*href=\"(?![/#])", hostile_page)  # only links within the site
    assert '<a href="https://app.example/" rel="noopener noreferrer">' in good_page


async def _exchange(client: httpx.AsyncClient, app_id: str, secret: str, code: str) -> httpx.Response:
    return await client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": app_id,
            "client_secret": secret,
            "redirect_uri": OOB,
        },
    )


async def test_reusing_a_code_revokes_the_token_it_issued(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    assert instance.ctx is not None
    await make_user(instance.ctx, "alice", PASSWORD)
    async with instance.client() as client:
        app = await register_app(client, scopes="read")
        first_code = await authorization_code(client, app, username="alice", password=PASSWORD)
        other_code = await authorization_code(client, app, username="alice", password=PASSWORD)
        first = await _exchange(client, app.client_id, app.client_secret, first_code)
        other = await _exchange(client, app.client_id, app.client_secret, other_code)
        assert first.status_code == 200 and other.status_code == 200
        first_token, other_token = first.json()["access_token"], other.json()["access_token"]
        before = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(first_token))
        assert before.status_code == 200
        replayed = await _exchange(client, app.client_id, app.client_secret, first_code)
        after = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(first_token))
        untouched = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(other_token))
    assert replayed.status_code == 400 and replayed.json()["error"] == "invalid_grant"
    assert after.status_code == 401
    assert untouched.status_code == 200  # a token from another code lives on


async def test_a_refused_exchange_leaves_the_code_usable(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    await make_user(instance.ctx, "alice", PASSWORD)
    async with instance.client() as client:
        app = await register_app(client, scopes="read")
        code = await authorization_code(client, app, username="alice", password=PASSWORD)
        wrong_secret = await _exchange(client, app.client_id, "not-the-secret", code)
        granted = await _exchange(client, app.client_id, app.client_secret, code)
    assert wrong_secret.status_code == 401
    assert granted.status_code == 200
