"""The signed-in web interface over HTTP (web/staff/): every page needs a login, every form its CSRF token,
and what the forms do goes through the outbox like the client API — a post with an image and its alt text,
a content warning, a language and a visibility, a reply; the home timeline and notifications show them.
The main flow runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from outbox import actions
from storage.accounts import local_account_by_username
from storage.models import MediaAttachment, Status
from support.instance import RunningInstance, make_settings, serve_in_process
from support.oauth import make_user
from support.web import csrf_of, png_bytes, web_login

PASSWORD = "correct horse battery staple"


@pytest.fixture
async def instance(tmp_path: Path, database_url: str) -> AsyncIterator[RunningInstance]:
    async with serve_in_process(make_settings(tmp_path, database_url=database_url)) as running:
        assert running.ctx is not None
        await make_user(running.ctx, "alice", PASSWORD)
        await make_user(running.ctx, "bob", PASSWORD)
        yield running


async def _status_count(instance: RunningInstance) -> int:
    assert instance.ctx is not None
    async with instance.ctx.db.read() as session:
        return int((await session.execute(select(func.count()).select_from(Status))).scalar_one())


async def test_pages_need_a_login_and_forms_their_token(instance: RunningInstance) -> None:
    async with instance.client() as browser:
        for path in ("/web/home", "/web/notifications", "/web/compose"):
            page = await browser.get(path)
            assert page.status_code == 303 and page.headers["location"].startswith("/login?next=%2Fweb%2F")
        anonymous_post = await browser.post("/web/compose", data={"text": "hello"})
        assert anonymous_post.status_code == 303 and anonymous_post.headers["location"].startswith("/login")
        await web_login(browser, "alice", PASSWORD)
        no_token = await browser.post("/web/compose", data={"text": "hello"})
        assert no_token.status_code == 403
        wrong = await browser.post("/web/compose", data={"text": "hello", "csrf_token": "forged"})
        assert wrong.status_code == 403
    # Another browser's token is no good either.
    async with instance.client() as other:
        await web_login(other, "bob", PASSWORD)
        bobs_token = csrf_of((await other.get("/web/compose")).text)
    async with instance.client() as browser:
        await web_login(browser, "alice", PASSWORD)
        crossed = await browser.post("/web/compose", data={"text": "hello", "csrf_token": bobs_token})
        assert crossed.status_code == 403
    assert await _status_count(instance) == 0


async def test_compose_with_image_and_alt_text_reply_home_and_notifications(
    instance: RunningInstance,
) -> None:
    assert instance.ctx is not None
    async with instance.client() as browser:
        await web_login(browser, "alice", PASSWORD)
        form = await browser.get("/web/compose")
        assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text
        assert '<label for="alt1">' in form.text
        fields = {
            "csrf_token": csrf_of(form.text),
            "idempotency_key": "key-1",
            "text": "Werk aan de A6 #verkeer",
            "spoiler_text": "Omleiding",
            "visibility": "public",
            "language": "nl",
            "alt1": "Kaart met de omleiding via Almere",
        }
        files = {"image1": ("kaart.png", png_bytes(), "image/png")}
        sent = await browser.post("/web/compose", data=fields, files=files)
        assert sent.status_code == 303 and sent.headers["location"] == "/web/home"
        again = await browser.post("/web/compose", data=fields, files=files)  # resent: published once
        assert again.status_code == 303 and await _status_count(instance) == 1
        async with instance.ctx.db.read() as session:
            status = (await session.execute(select(Status))).scalar_one()
            # (the resent form's image was stored again, unused: the orphan purge removes it after a day)
            media = (
                await session.execute(select(MediaAttachment).where(MediaAttachment.status_id == status.id))
            ).scalar_one()
        assert status.language == "nl" and status.spoiler_text == "Omleiding" and status.sensitive
        assert media.description == "Kaart met de omleiding via Almere"
        home = await browser.get("/web/home")
        assert 'alt="Kaart met de omleiding via Almere"' in home.text and "Omleiding" in home.text
        image = await browser.get(f"{instance.base_url}/media/{media.file_path}")
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
        # A bad image changes nothing and says why.
        broken = await browser.post(
            "/web/compose",
            data={**fields, "idempotency_key": "key-2", "csrf_token": csrf_of(home.text)},
            files={"image1": ("x.png", b"not an image", "image/png")},
        )
        assert broken.status_code == 422 and 'role="alert"' in broken.text
        assert await _status_count(instance) == 1
    async with instance.client() as bob_browser:
        await web_login(bob_browser, "bob", PASSWORD)
        reply_form = await bob_browser.get(f"/web/compose?in_reply_to_id={status.id}")
        assert (
            "@alice " in reply_form.text and f'name="in_reply_to_id" value="{status.id}"' in reply_form.text
        )
        replied = await bob_browser.post(
            "/web/compose",
            data={
                "csrf_token": csrf_of(reply_form.text),
                "in_reply_to_id": str(status.id),
                "text": "@alice Dank voor de melding",
                "visibility": "unlisted",
            },
        )
        assert replied.status_code == 303
    async with instance.client(headers={"Accept-Language": "en"}) as browser:
        await web_login(browser, "alice", PASSWORD)
        notifications = await browser.get("/web/notifications")
        assert "mentioned you" in notifications.text and "Dank voor de melding" in notifications.text
        thread = await browser.get(f"/@alice/{status.id}")
        assert "Dank voor de melding" in thread.text


async def test_a_reply_to_a_post_the_viewer_may_not_see_is_refused(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    async with instance.ctx.db.read() as session:
        bob_account = await local_account_by_username(session, "bob")
    assert bob_account is not None
    secret = await actions.post_status(instance.ctx, bob_account, text="only followers", visibility="private")
    async with instance.client() as browser:
        await web_login(browser, "alice", PASSWORD)
        form = await browser.get(f"/web/compose?in_reply_to_id={secret.id}")
        assert "only followers" not in form.text
        refused = await browser.post(
            "/web/compose",
            data={"csrf_token": csrf_of(form.text), "in_reply_to_id": str(secret.id), "text": "guess"},
        )
        assert refused.status_code == 422 and await _status_count(instance) == 1
