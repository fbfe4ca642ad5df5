"""The public status page and profile honour an account whose media the moderators force sensitive: its
posts' images are behind a sensitive notice (a `<details>` that works without JavaScript) and out of the
OpenGraph preview, as the API reports `sensitive: true`; lifted, they are shown again. On SQLite and
PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import moderation
from outbox import actions
from outbox.uploads import upload_image
from support.instance import RunningInstance, make_settings, serve_in_process
from support.oauth import make_user
from support.web import png_bytes

_NOTICE = re.compile(
    r'<details class="sensitive-media"><summary>[^<]+</summary>\s*<div class="media">\s*<a[^>]*><img'
)


@pytest.fixture
async def instance_on_each_backend(tmp_path: Path, database_url: str) -> AsyncIterator[RunningInstance]:
    async with serve_in_process(make_settings(tmp_path, database_url=database_url)) as running:
        yield running


async def test_forced_sensitive_media_are_behind_a_notice(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    ctx = instance.ctx
    assert ctx is not None
    alice = await make_user(ctx, "alice")
    media = await upload_image(ctx, alice.id, png_bytes(), description="Foto van de brug")
    post = await actions.post_status(ctx, alice, text="De brug is open", language="nl", media_ids=[media.id])
    plain = await actions.post_status(ctx, alice, text="Zonder beeld", language="nl")
    async with instance.client() as reader:
        before = (await reader.get(f"/@alice/{post.id}")).text
        assert 'alt="Foto van de brug"' in before and "sensitive-media" not in before
        assert '<meta property="og:image"' in before

        await moderation.moderate_account(ctx, alice.id, "sensitive", actor="@mod", text="schokkend")
        for page in (f"/@alice/{post.id}", "/@alice"):
            html = (await reader.get(page)).text
            assert _NOTICE.search(html), page
            assert "Gevoelige media: tonen" in html
        status_page = (await reader.get(f"/@alice/{post.id}")).text
        assert '<meta property="og:image"' not in status_page  # no preview of what is behind the notice
        assert "sensitive-media" not in (await reader.get(f"/@alice/{plain.id}")).text  # no media, no notice
        api = await reader.get(f"/api/v1/statuses/{post.id}")
        assert api.json()["sensitive"] is True  # what the API already said

        await moderation.moderate_account(ctx, alice.id, "unsensitive", actor="@mod")
        after = (await reader.get(f"/@alice/{post.id}")).text
        assert "sensitive-media" not in after and 'alt="Foto van de brug"' in after
        own = await actions.post_status(
            ctx,
            alice,
            text="Eigen keuze",
            language="nl",
            media_ids=[(await upload_image(ctx, alice.id, png_bytes(), description="Wond")).id],
            sensitive=True,
        )
        assert _NOTICE.search((await reader.get(f"/@alice/{own.id}")).text)  # the author's own mark too
