"""A real browser for the web tests: Debian's Chromium (`apt-get install chromium`) driven by Playwright, and
axe-core (npm, `tests/axe`, installed on first use) injected into pages to find WCAG 2.1 A/AA violations."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from support.npm import ensure_npm_installed

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE_DIR = Path(__file__).resolve().parent.parent / "axe"
AXE_SCRIPT = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
AXE_RUN = """async () => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
                                          resultTypes: ['violations']});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                      nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
}"""


@contextlib.asynccontextmanager
async def chromium(*, with_axe: bool = False) -> AsyncIterator[Browser]:
    """A headless Chromium for the test (with `with_axe`, axe-core installed first)."""
    if with_axe:
        ensure_npm_installed(AXE_DIR)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            await launched.close()


async def log_in(context: BrowserContext, base_url: str, username: str, password: str) -> None:
    """Sign `context` in through the login form (no second factor)."""
    page = await context.new_page()
    try:
        await page.goto(f"{base_url}/login")
        await page.fill("#login-username", username)
        await page.fill("#login-password", password)
        await page.click("main button[type=submit]")
        await page.wait_for_url(f"{base_url}/web/home")
    finally:
        await page.close()


async def all_violations(page: Page) -> list[dict[str, Any]]:
    """Every WCAG 2.1 A/AA violation axe finds on the page as it is now (its context must bypass the CSP:
    axe comes in as a script)."""
    await page.add_script_tag(path=str(AXE_SCRIPT))
    found: list[dict[str, Any]] = await page.evaluate(AXE_RUN)
    return found


async def serious_violations(page: Page) -> list[dict[str, Any]]:
    """The serious and critical violations axe finds on the page as it is now."""
    return [v for v in await all_violations(page) if v["impact"] in ("serious", "critical")]


async def violations_at(context: BrowserContext, url: str) -> list[dict[str, Any]]:
    """The serious and critical violations of the page at `url` (any answer below 500)."""
    page = await context.new_page()
    try:
        response = await page.goto(url)
        assert response is not None and response.status < 500, url
        return await serious_violations(page)
    finally:
        await page.close()
