"""The web interface in a real browser: Debian's Chromium driven by Playwright (the set-up of
tests/plein/test_security_headers.py), one browser per backend.

- With JavaScript disabled, a staff member logs in, writes a post with an image and its alt text, and
  sees it on the home timeline: every action is a plain form post.
- axe-core (npm, `tests/axe`, installed on first use) runs on every page template in Dutch and English and
  finds no serious or critical WCAG 2.1 A/AA violation.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from playwright.async_api import Browser, BrowserContext, async_playwright
from sqlalchemy import select

from outbox import actions
from outbox.uploads import upload_image
from storage.accounts import local_account_by_username
from storage.models import Status, User
from storage.types import utcnow
from support.instance import RunningInstance, make_settings, serve_in_process
from support.npm import ensure_npm_installed
from support.oauth import OOB, make_user, register_app
from support.web import png_bytes

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE_DIR = Path(__file__).resolve().parent.parent / "axe"
PASSWORD = "correct horse battery staple"
ALT_TEXT = "Plattegrond van het stadhuis met de nieuwe ingang"
AXE_RUN = """async () => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                      nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
}"""


@pytest.fixture
async def instance(tmp_path: Path, database_url: str) -> AsyncIterator[RunningInstance]:
    policy = tmp_path / "privacy.md"
    policy.write_text("# Privacy\n\nWij bewaren zo min mogelijk.\n")
    settings = make_settings(
        tmp_path,
        database_url=database_url,
        **{"instance.privacy_policy_file": str(policy), "registration.mode": "approval"},
    )
    async with serve_in_process(settings) as running:
        assert running.ctx is not None
        await make_user(running.ctx, "alice", PASSWORD)
        await make_user(running.ctx, "bob", PASSWORD)
        yield running


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    ensure_npm_installed(AXE_DIR)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            await launched.close()


async def _log_in(context: BrowserContext, base_url: str, username: str) -> None:
    page = await context.new_page()
    await page.goto(f"{base_url}/login")
    await page.fill("#login-username", username)
    await page.fill("#login-password", PASSWORD)
    await page.click("main button[type=submit]")
    await page.wait_for_url(f"{base_url}/web/home")
    await page.close()


async def _post_with_image_without_javascript(browser: Browser, instance: RunningInstance) -> None:
    context = await browser.new_context(java_script_enabled=False, locale="nl-NL")
    try:
        await _log_in(context, instance.base_url, "alice")
        page = await context.new_page()
        await page.goto(f"{instance.base_url}/web/compose")
        await page.fill("#compose-text", "De nieuwe ingang van het stadhuis is open #gemeente")
        await page.fill("#compose-cw", "")
        await page.select_option("#compose-language", "nl")
        await page.set_input_files(
            "#image1", files=[{"name": "plattegrond.png", "mimeType": "image/png", "buffer": png_bytes()}]
        )
        await page.fill("#alt1", ALT_TEXT)
        await page.click("main form button[type=submit]")
        await page.wait_for_url(f"{instance.base_url}/web/home")
        image = page.locator(f'article img[alt="{ALT_TEXT}"]')
        assert await image.count() == 1
        # The image itself loads (the page's CSP allows this server's media).
        assert await image.evaluate("img => img.complete && img.naturalWidth > 0")
        assert await page.locator("html").get_attribute("lang") == "nl"
    finally:
        await context.close()


async def _pages(instance: RunningInstance) -> dict[str, str]:
    """A path of every page template (signed-in ones marked by a leading "!")."""
    assert instance.ctx is not None
    ctx = instance.ctx
    async with ctx.db.read() as session:
        alice_post = (await session.execute(select(Status).order_by(Status.id))).scalars().first()
    assert alice_post is not None
    async with ctx.db.read() as session:
        bob = await local_account_by_username(session, "bob")
    assert bob is not None
    media = await upload_image(ctx, bob.id, png_bytes(), description="Een foto van de kade")
    reply = await actions.post_status(
        ctx, bob, text="@alice Mooi!", spoiler_text="Foto", in_reply_to_id=alice_post.id, media_ids=[media.id]
    )
    async with instance.client() as client:
        app = await register_app(client)
    consent = f"/oauth/authorize?client_id={app.client_id}&redirect_uri={OOB}&response_type=code&scope=read"
    return {
        "front page": "/",
        "local timeline": "/public/local",
        "profile": "/@alice",
        "status with thread": f"/@bob/{reply.id}",
        "hashtag": "/tags/gemeente",
        "about": "/about",
        "privacy policy": "/privacy-policy",
        "error": "/@nobody",
        "login": "/login",
        "sign up": "/auth/sign_up",
        "password reset request": "/auth/password/new",
        "oauth consent": consent,
        "oauth error": "/oauth/authorize?client_id=unknown",
        "home timeline": "!/web/home",
        "notifications": "!/web/notifications",
        "compose": "!/web/compose",
        "reply": f"!/web/compose?in_reply_to_id={reply.id}",
        "settings": "!/web/settings",
        "security settings": "!/web/settings/security",
        "export": "!/web/settings/export",
    }


async def _violations(context: BrowserContext, url: str) -> list[dict[str, Any]]:
    page = await context.new_page()
    try:
        response = await page.goto(url)
        assert response is not None and response.status < 500, url
        await page.add_script_tag(path=str(AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"))
        found: list[dict[str, Any]] = await page.evaluate(AXE_RUN)
        return [v for v in found if v["impact"] in ("serious", "critical")]
    finally:
        await page.close()


async def _second_factor_page(
    browser: Browser, instance: RunningInstance, locale: str
) -> list[dict[str, Any]]:
    """The second step of the login needs an account with TOTP, half signed in."""
    assert instance.ctx is not None
    async with instance.ctx.db.transaction() as session:
        user = (await session.execute(select(User).order_by(User.id.desc()))).scalars().first()
        assert user is not None
        user.totp_secret, user.totp_enabled_at = pyotp.random_base32(), utcnow()
        username = "bob"
    context = await browser.new_context(locale=locale, bypass_csp=True)
    try:
        page = await context.new_page()
        await page.goto(f"{instance.base_url}/login")
        await page.fill("#login-username", username)
        await page.fill("#login-password", PASSWORD)
        await page.click("main button[type=submit]")
        await page.wait_for_url(f"{instance.base_url}/login/second-factor**")
        await page.close()
        return await _violations(context, f"{instance.base_url}/login/second-factor")
    finally:
        await context.close()


async def test_staff_post_without_javascript_and_every_page_passes_axe(
    instance: RunningInstance, browser: Browser
) -> None:
    await _post_with_image_without_javascript(browser, instance)
    pages = await _pages(instance)
    problems: dict[str, Any] = {}
    for locale in ("nl-NL", "en-GB"):
        # axe is injected as a script: this context lets it past the pages' CSP (tested on its own elsewhere).
        anonymous = await browser.new_context(locale=locale, bypass_csp=True)
        signed_in = await browser.new_context(locale=locale, bypass_csp=True)
        try:
            await _log_in(signed_in, instance.base_url, "alice")
            for name, path in pages.items():
                context = signed_in if path.startswith("!") else anonymous
                found = await _violations(context, instance.base_url + path.lstrip("!"))
                if found:
                    problems[f"{name} ({locale})"] = found
            lang_page = await anonymous.new_page()
            await lang_page.goto(instance.base_url + "/about")
            assert await lang_page.locator("html").get_attribute("lang") == locale[:2]
            await lang_page.close()
        finally:
            await anonymous.close()
            await signed_in.close()
    # The checker itself finds what it must (an image without alt text, a page without a language).
    checker = await browser.new_context(bypass_csp=True)
    try:
        bad = await checker.new_page()
        await bad.set_content("<!doctype html><title>x</title><img src='/favicon.ico'>")
        await bad.add_script_tag(path=str(AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"))
        assert {v["id"] for v in await bad.evaluate(AXE_RUN)} >= {"image-alt", "html-has-lang"}
    finally:
        await checker.close()
    for locale in ("nl-NL", "en-GB"):
        found = await _second_factor_page(browser, instance, locale)
        if found:
            problems[f"second factor ({locale})"] = found
    assert problems == {}
