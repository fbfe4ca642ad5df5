"""A new avatar and header travel to followers: the actor's `Update` reaches other Plein instances, which
store the new `icon` / `image` URLs and fetch their own copy of each (re-encoded, within their media limit,
served from their media path); an instance whose limit the image passes shows the remote URL instead. A
removed avatar is removed everywhere, with the copies."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from checked import call
from PIL import Image
from sqlalchemy import select

from moderation import block_domain, unblock_domain
from outbox import actions
from outbox.actions import delete_local_account
from storage.models import MediaAttachment
from support.federation import Instance, settle
from support.instance import make_settings, serve_in_process
from support.oauth import bearer, make_token, make_user

TINY_MEDIA_LIMIT = 2_000


@pytest.fixture
async def publisher_and_followers(tmp_path: Path) -> AsyncIterator[tuple[Instance, Instance, Instance]]:
    """Instance A, and two followers' instances: B, and C that takes no media over 2 kB."""
    async with AsyncExitStack() as stack:
        running = [
            await stack.enter_async_context(serve_in_process(make_settings(tmp_path / name, **overrides)))
            for name, overrides in (("a", {}), ("b", {}), ("c", {"limits.max_media_bytes": TINY_MEDIA_LIMIT}))
        ]
        yield tuple(Instance(instance) for instance in running)  # type: ignore[misc]


def noisy_png(width: int, height: int) -> bytes:
    """An image that stays well over 2 kB however it is re-encoded."""
    image = Image.effect_noise((width, height), 80).convert("RGB")
    output = io.BytesIO()
    image.save(output, format="PNG")
    return output.getvalue()


async def _avatar_rows(instance: Instance) -> list[str | None]:
    async with instance.ctx.db.read() as session:
        statement = select(MediaAttachment.remote_url).where(MediaAttachment.media_type == "avatar")
        return list((await session.execute(statement)).scalars())


async def _upload_avatar(instance: Instance, token: str, image: bytes) -> dict[str, Any]:
    async with instance.running.client(headers=bearer(token)) as api:
        return await call(  # type: ignore[no-any-return]
            api,
            "PATCH",
            "/api/v1/accounts/update_credentials",
            files={"avatar": ("me.png", image, "image/png")},
        )


async def _seen_on(instance: Instance, account_id: int) -> dict[str, Any]:
    """The Account entity `instance` shows of one of its stored accounts."""
    async with instance.running.client() as reader:
        return await call(reader, "GET", f"/api/v1/accounts/{account_id}")  # type: ignore[no-any-return]


async def test_avatar_update_reaches_followers(
    publisher_and_followers: tuple[Instance, Instance, Instance],
) -> None:
    a, b, c = publisher_and_followers
    token = await make_token(a.ctx, "alice")
    alice = await make_user(a.ctx, "alice")
    copies = {}
    for instance, name in ((b, "bob"), (c, "carol")):
        follower = await instance.local(name)
        copies[instance.domain] = await instance.resolve(alice, a)
        await actions.follow(instance.ctx, follower, copies[instance.domain])
    await settle(a, b, c)

    me = await _upload_avatar(a, token, noisy_png(600, 600))
    avatar_url = me["avatar"]
    assert avatar_url.startswith(f"{a.running.base_url}/media/")
    await settle(a, b, c)

    seen_by_b = await _seen_on(b, copies[b.domain].id)
    # B stored the new icon from the Update and serves its own copy of it.
    assert (
        seen_by_b["avatar"].startswith(f"{b.running.base_url}/media/") and seen_by_b["avatar"] != avatar_url
    )
    async with httpx.AsyncClient() as web:
        served = await web.get(seen_by_b["avatar"])
    assert served.status_code == 200
    assert Image.open(io.BytesIO(served.content)).size == (400, 400)
    assert await _avatar_rows(b) == [avatar_url]
    stored = await b.account(alice.uri)
    assert stored is not None and stored.avatar_url == avatar_url

    # C's media limit is smaller than the image: nothing stored, the remote URL shown.
    seen_by_c = await _seen_on(c, copies[c.domain].id)
    assert seen_by_c["avatar"] == avatar_url
    assert await _avatar_rows(c) == []

    # B's moderators refuse A's media: B's copy goes (row now, file by the queue), the remote URL is shown.
    copy_path = b.running.settings.server.data_dir / "media" / seen_by_b["avatar"].split("/media/", 1)[1]
    assert copy_path.is_file()
    await block_domain(b.ctx, a.domain, actor="test", severity="noop", reject_media=True)
    await settle(b)
    seen_by_b = await _seen_on(b, copies[b.domain].id)
    assert seen_by_b["avatar"] == avatar_url
    assert await _avatar_rows(b) == [] and not copy_path.exists()
    await unblock_domain(b.ctx, a.domain, actor="test")

    async with a.running.client(headers=bearer(token)) as api:
        await call(api, "DELETE", "/api/v1/profile/avatar")
    await settle(a, b, c)
    seen_by_b = await _seen_on(b, copies[b.domain].id)
    assert seen_by_b["avatar"].endswith("/avatars/original/missing.png")
    assert await _avatar_rows(b) == []

    # Alice leaves: her avatar's files go on her server, and B's copy with the actor's Delete.
    me = await _upload_avatar(a, token, noisy_png(500, 500))
    await settle(a, b, c)
    seen_by_b = await _seen_on(b, copies[b.domain].id)
    assert await _avatar_rows(b) == [me["avatar"]]
    files = [
        instance.running.settings.server.data_dir / "media" / url.split("/media/", 1)[1]
        for instance, url in ((a, me["avatar"]), (b, seen_by_b["avatar"]))
    ]
    assert all(path.is_file() for path in files)
    await delete_local_account(a.ctx, "alice", actor="test")
    await settle(a, b, c)
    assert await _avatar_rows(a) == [] and await _avatar_rows(b) == []
    assert not any(path.exists() for path in files)
