"""The hashtag pages served as HTML: `/tags/:name` (where every hashtag link of a post leads) lists the
public local posts carrying it, newest first, a page at a time, and never an unlisted, followers-only,
direct or deleted one; `/@:username/tagged/:name` lists one account's. Unknown names, accounts and bad
page ids are refused."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from outbox import actions
from storage.tags import followed_tags_query
from support.instance import RunningInstance, make_settings, serve_in_process
from support.oauth import make_user
from support.web import PASSWORD, post_form, web_login
from web.tags import PAGE_SIZE


@pytest.fixture
async def instance(tmp_path: Path) -> AsyncIterator[RunningInstance]:
    async with serve_in_process(make_settings(tmp_path)) as running:
        yield running


def _posts(html: str) -> list[str]:
    """The text of each listed post, in page order."""
    return re.findall(r'<div class="e-content"><p>(.*?)</p>', html)


async def test_tag_page_lists_public_local_posts_a_page_at_a_time(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    ctx = instance.ctx
    alice, bob = await make_user(ctx, "alice"), await make_user(ctx, "bob")
    first = await actions.post_status(ctx, alice, text="#Civic number 0")
    for visibility in ("unlisted", "private", "direct"):
        await actions.post_status(ctx, alice, text=f"#civic {visibility} secret @bob", visibility=visibility)
    gone = await actions.post_status(ctx, alice, text="#civic deleted secret")
    await actions.delete_status(ctx, alice, gone.id)
    await actions.post_status(ctx, alice, text="#other number x")
    for number in range(1, PAGE_SIZE + 3):
        await actions.post_status(ctx, bob if number % 2 else alice, text=f"#civic number {number}")
    async with instance.client() as browser:
        # The hashtag link inside a post leads to the page.
        link = re.search(r'href="([^"]+/tags/civic)"', first.content)
        assert link is not None
        page = await browser.get(link.group(1))
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "default-src 'self'" in page.headers["content-security-policy"]
        newest_first = [f"#civic number {n}" for n in range(PAGE_SIZE + 2, 0, -1)] + ["#Civic number 0"]
        shown = [re.sub(r"<[^>]+>", "", post) for post in _posts(page.text)]
        assert shown == newest_first[:PAGE_SIZE]
        assert "secret" not in page.text and "#other" not in page.text
        older = re.search(r'<a rel="next" href="([^"]+)">', page.text)
        assert older is not None
        second = await browser.get(older.group(1).replace("&amp;", "&"))
        assert [re.sub(r"<[^>]+>", "", post) for post in _posts(second.text)] == newest_first[PAGE_SIZE:]
        assert 'rel="next"' not in second.text and "secret" not in second.text

        own = await browser.get("/@alice/tagged/civic")
        assert own.status_code == 200
        alices = [re.sub(r"<[^>]+>", "", post) for post in _posts(own.text)]
        assert alices == [f"#civic number {n}" for n in range(PAGE_SIZE + 2, 0, -1) if n % 2 == 0] + [
            "#Civic number 0"
        ]
        assert "secret" not in own.text

        for path, status in (
            ("/tags/nothing", 404),
            ("/tags/123", 404),
            ("/tags/a%20b", 404),
            ("/@nobody/tagged/civic", 404),
            ("/@alice/tagged/nothing", 404),
            ("/tags/civic?max_id=abc", 400),
        ):
            assert (await browser.get(path)).status_code == status, path


async def test_signed_in_viewer_follows_and_unfollows_a_hashtag_from_its_page(
    instance: RunningInstance,
) -> None:
    assert instance.ctx is not None
    ctx = instance.ctx
    alice = await make_user(ctx, "alice", PASSWORD)
    bob = await make_user(ctx, "bob", PASSWORD)
    await actions.post_status(ctx, alice, text="Het #Waterpeil stijgt")
    async with instance.client() as anonymous:
        page = await anonymous.get("/tags/waterpeil")
        assert page.status_code == 200 and "/web/tags/waterpeil/follow" not in page.text
        # Not signed in: the form post goes to the login, nothing changes.
        refused = await anonymous.post("/web/tags/waterpeil/follow", data={"csrf_token": "x"})
        assert refused.status_code == 303 and refused.headers["location"].startswith("/login?")
    async with instance.client() as browser:
        await web_login(browser, "bob", PASSWORD)
        page = await browser.get("/tags/waterpeil")
        assert 'action="/web/tags/waterpeil/follow"' in page.text and "Volg #waterpeil" in page.text
        forged = await browser.post("/web/tags/waterpeil/follow", data={"csrf_token": "forged"})
        assert forged.status_code == 403
        assert await _followed(instance, bob.id) == []
        followed = await post_form(browser, "/tags/waterpeil", "/web/tags/waterpeil/follow", {})
        assert followed.status_code == 303 and followed.headers["location"] == "/tags/waterpeil"
        assert await _followed(instance, bob.id) == ["waterpeil"]
        page = await browser.get("/tags/waterpeil")
        assert 'action="/web/tags/waterpeil/unfollow"' in page.text and "Ontvolg #waterpeil" in page.text
        # The follow is the API's: the followed hashtag's new posts reach bob's home timeline.
        fresh = await actions.post_status(ctx, alice, text="Nog steeds #waterpeil")
        home = await browser.get("/web/home")
        assert f"/@alice/{fresh.id}" in home.text
        assert (
            await post_form(browser, "/tags/waterpeil", "/web/tags/waterpeil/unfollow", {})
        ).status_code == 303
        assert await _followed(instance, bob.id) == []
        page = await browser.get("/tags/waterpeil", headers={"Accept-Language": "en"})
        assert "Follow #waterpeil" in page.text
        bad = await post_form(browser, "/tags/waterpeil", "/web/tags/a%20b/follow", {})
        assert bad.status_code == 404


async def _followed(instance: RunningInstance, account_id: int) -> list[str]:
    assert instance.ctx is not None
    async with instance.ctx.db.read() as session:
        rows = (await session.execute(followed_tags_query(account_id).statement)).all()
    return [tag.name for _, tag in rows]
