"""The web interface in a real browser on each backend: Debian's Chromium driven by Playwright
(`support.browser`). With JavaScript disabled, a staff member logs in, writes a post with an image and its
alt text, and sees it on the home timeline: every action is a plain form post. The whole walk (invite,
sign-up, moderation) and axe-core on every page template are in `test_browser_walk.py`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser

from support.browser import chromium, log_in
from support.instance import RunningInstance, make_settings, serve_in_process
from support.oauth import make_user
from support.web import PASSWORD, png_bytes

ALT_TEXT = "Plattegrond van het stadhuis met de nieuwe ingang"


@pytest.fixture
async def instance(tmp_path: Path, database_url: str) -> AsyncIterator[RunningInstance]:
    async with serve_in_process(make_settings(tmp_path, database_url=database_url)) as running:
        assert running.ctx is not None
        await make_user(running.ctx, "alice", PASSWORD)
        yield running


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


async def test_staff_post_with_image_without_javascript(instance: RunningInstance, browser: Browser) -> None:
    context = await browser.new_context(java_script_enabled=False, locale="nl-NL")
    try:
        await log_in(context, instance.base_url, "alice", PASSWORD)
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
