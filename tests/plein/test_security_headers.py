"""Every HTML page carries one strict Content-Security-Policy (plein.headers), and the pages keep working
under it in a real browser: Debian's Chromium driven by Playwright (no browser download), with the console
and `securitypolicyviolation` events watched for anything the policy refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page

from support.browser import chromium
from support.databases import sqlite_url
from support.instance import RunningInstance, make_settings, serve_in_process
from support.oauth import OOB, bearer, make_token, make_user, register_app

PASSWORD = "correct horse battery staple"
# Records every refusal of the page's policy where the test can read it.
WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
    (event) => window.__violations.push(event.violatedDirective + ' ' + event.blockedURI));
"""

INJECT_INLINE_SCRIPT = """
const script = document.createElement('script');
script.textContent = 'window.__ran = true';
document.head.appendChild(script);
"""


def _directives(policy: str) -> dict[str, str]:
    pairs = (part.strip().partition(" ") for part in policy.split(";") if part.strip())
    return {name: value for name, _, value in pairs}


@pytest.fixture
async def instance(tmp_path: Path) -> AsyncIterator[RunningInstance]:
    settings = make_settings(tmp_path, database_url=sqlite_url(str(tmp_path)))
    async with serve_in_process(settings) as running:
        assert running.ctx is not None
        await make_user(running.ctx, "alice", PASSWORD)
        yield running


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


async def _public_status(instance: RunningInstance, client: httpx.AsyncClient) -> str:
    assert instance.ctx is not None
    token = await make_token(instance.ctx, "alice")
    posted = await client.post("/api/v1/statuses", headers=bearer(token), json={"status": "hello"})
    return f"/@alice/{posted.json()['id']}"


async def test_every_html_page_has_the_strict_policy(instance: RunningInstance) -> None:
    async with instance.client() as client:
        status_page = await _public_status(instance, client)
        app = await register_app(client)
        pages = {
            "front page": await client.get("/"),
            "profile": await client.get("/@alice"),
            "status": await client.get(status_page),
            "missing profile": await client.get("/@nobody"),
            "consent": await client.get(
                "/oauth/authorize", params={"client_id": app.client_id, "redirect_uri": OOB}
            ),
            "oauth error": await client.get("/oauth/authorize", params={"client_id": "unknown"}),
        }
        api = await client.get("/api/v1/instance")
    for name, response in pages.items():
        assert response.headers["content-type"].startswith("text/html"), name
        policy = _directives(response.headers["content-security-policy"])
        assert policy["default-src"] == "'self'", name
        assert policy["img-src"] == f"'self' {instance.base_url}", name
        assert policy["frame-ancestors"] == "'none'", name
        assert policy["base-uri"] == "'none'", name
        assert policy["form-action"] == "'self'", name
        assert "unsafe" not in response.headers["content-security-policy"], name
        assert response.headers["x-content-type-options"] == "nosniff", name
        assert (
            "<style" not in response.text and "<script" not in response.text and "style=" not in response.text
        )
    assert "content-security-policy" not in api.headers  # JSON is not a page


async def test_consent_form_may_redirect_to_its_app_only(instance: RunningInstance) -> None:
    async with instance.client() as client:
        web_app = await register_app(client, redirect_uri="https://app.example/cb?x=1")
        native_app = await register_app(client, redirect_uri="com.example.app:/callback")
        policies = [
            _directives(
                (
                    await client.get(
                        "/oauth/authorize",
                        params={"client_id": app.client_id, "redirect_uri": app.redirect_uri},
                    )
                ).headers["content-security-policy"]
            )["form-action"]
            for app in (web_app, native_app)
        ]
    assert policies == ["'self' https://app.example", "'self' com.example.app:"]


async def test_a_redirect_uri_cannot_write_into_the_policy(instance: RunningInstance) -> None:
    async with instance.client() as client:
        app = await register_app(client, redirect_uri="https://a.example;script-src/cb")
        page = await client.get(
            "/oauth/authorize", params={"client_id": app.client_id, "redirect_uri": app.redirect_uri}
        )
    policy = _directives(page.headers["content-security-policy"])
    assert policy["form-action"] == "'self'" and policy["default-src"] == "'self'"
    assert "script-src" not in policy


async def _visit(page: Page, url: str) -> dict[str, Any]:
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    response = await page.goto(url)
    assert response is not None and response.ok, url
    return {
        "violations": await page.evaluate("window.__violations"),
        "console": [text for text in messages if "Content Security Policy" in text],
        "max_width": await page.evaluate("getComputedStyle(document.body).maxWidth"),
    }


async def test_pages_load_in_chromium_without_violations(instance: RunningInstance, browser: Browser) -> None:
    async with instance.client() as client:
        status_page = await _public_status(instance, client)
        app = await register_app(client)
    consent = f"/oauth/authorize?client_id={app.client_id}&redirect_uri={OOB}"
    context = await browser.new_context(base_url=instance.base_url)
    await context.add_init_script(WATCH_VIOLATIONS)
    page = await context.new_page()
    seen = {path: await _visit(page, path) for path in ("/", "/@alice", status_page, consent)}
    # Negative control: the policy is enforced, so an inline script injected into a page is refused.
    await page.evaluate(INJECT_INLINE_SCRIPT)
    await page.wait_for_function("window.__violations.length > 0")
    assert await page.evaluate("window.__ran === undefined")
    assert any("script-src" in violation for violation in await page.evaluate("window.__violations"))
    await context.close()
    for path, report in seen.items():
        assert report["violations"] == [] and report["console"] == [], path
        assert report["max_width"] == "672px", path  # the stylesheet loaded: 42rem


async def _answer_ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 4\r\nconnection: close\r\n\r\nback"
    )
    await writer.drain()
    writer.close()


async def test_consent_approval_redirects_in_chromium(instance: RunningInstance, browser: Browser) -> None:
    app_server = await asyncio.start_server(_answer_ok, "127.0.0.1", 0)  # the app's own callback
    callback = f"http://127.0.0.1:{app_server.sockets[0].getsockname()[1]}/cb"
    async with instance.client() as client:
        app = await register_app(client, redirect_uri=callback)
    context = await browser.new_context(base_url=instance.base_url)
    page = await context.new_page()
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    await page.goto(f"/oauth/authorize?client_id={app.client_id}&redirect_uri={callback}&state=s1")
    await page.fill("input[name=username]", "alice")
    await page.fill("input[name=password]", PASSWORD)
    async with page.expect_navigation(url=f"{callback}**"):
        await page.click("button[value=approve]")
    await context.close()
    app_server.close()
    assert "code=" in page.url and "state=s1" in page.url
    assert [text for text in messages if "Content Security Policy" in text] == []
