"""Profile changes through the real endpoints, driven by Mastodon.py where it has the call: avatar and
header uploads (cleaned, sized as Mastodon sizes them, served, shown in the Account entity and the actor,
removed with `DELETE /api/v1/profile/avatar|header`), bodies over the limit refused with nothing changed,
`fields_attributes` with rel="me" verification of an https page served on 127.0.0.1 (through the federation
client, trusting a private test CA), and `GET` / `PATCH /api/v1/profile`. Every response is validated against
the Mastodon OpenAPI description."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from checked import call
from mastodon import Mastodon
from PIL import Image
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from outbox import actions
from plein.jobs import job_handlers
from storage.models import Job, MediaAttachment
from storage.worker import drain
from support.databases import sqlite_url
from support.federation import Instance, settle
from support.instance import RunningInstance, free_port, make_settings, serve_app, serve_in_process
from support.oauth import bearer, make_token, make_user
from support.openapi import validate_entity
from support.tls import PrivateCA

MEDIA_LIMIT = 300_000


def image_bytes(width: int, height: int, image_format: str = "PNG") -> bytes:
    image = Image.new("RGB", (width, height), (20, 120, 200))
    for x in range(0, width, 7):
        image.putpixel((x, height // 2), (250, 250, 0))
    output = io.BytesIO()
    image.save(output, format=image_format)
    return output.getvalue()


def _pages(site: str, profile_url: str) -> Starlette:
    """A personal website: one page links back to the profile with rel="me", others do not."""
    bodies = {
        "a": f'<html><body><a href="{profile_url}" rel="me noopener">my profile</a></body></html>',
        "link": f'<html><head><link rel="me" href="{profile_url.upper()}"></head><body></body></html>',
        "elsewhere": f'<html><body><a rel="me" href="{site}/nowhere">not me</a></body></html>',
        "short": f'<html><body><a rel="me" href="{site}/go/me">me, shortened</a></body></html>',
        "plain": f'<html><body><a href="{profile_url}">no rel</a></body></html>',
    }

    async def page(request: Request) -> Response:
        name = request.path_params["name"]
        return HTMLResponse(bodies[name]) if name in bodies else HTMLResponse("gone", status_code=404)

    async def short_link(request: Request) -> RedirectResponse:
        return RedirectResponse(profile_url, status_code=301)

    return Starlette(routes=[Route("/go/me", short_link, methods=["GET", "HEAD"]), Route("/{name}", page)])


@pytest.fixture
async def site_and_instance(tmp_path: Path) -> AsyncIterator[tuple[str, RunningInstance]]:
    """An https website on 127.0.0.1 (certificate from a private CA the instance trusts) and an instance
    with a small media limit."""
    ca = PrivateCA(tmp_path)
    leaf = ca.issue("127.0.0.1")
    settings = make_settings(
        tmp_path,
        database_url=sqlite_url(str(tmp_path)),
        **{"federation.ca_bundle": str(ca.certificate), "limits.max_media_bytes": MEDIA_LIMIT},
    )
    site_port = free_port()
    site = _pages(f"https://127.0.0.1:{site_port}", f"{settings.base_url}/@alice")
    async with (
        serve_app(site, site_port, ssl_certfile=str(leaf.certificate), ssl_keyfile=str(leaf.key)),
        serve_in_process(settings) as running,
    ):
        yield f"https://127.0.0.1:{site_port}", running


def _fields_form(*fields: tuple[str, str]) -> dict[str, str]:
    """`fields_attributes` as a form sends them."""
    form = {}
    for index, (name, value) in enumerate(fields):
        form[f"fields_attributes[{index}][name]"] = name
        form[f"fields_attributes[{index}][value]"] = value
    return form


async def _image_size(client: httpx.AsyncClient, url: str) -> tuple[str, tuple[int, int]]:
    response = await client.get(url)
    assert response.status_code == 200, url
    return response.headers["content-type"], Image.open(io.BytesIO(response.content)).size


async def test_avatar_and_header_with_mastodon_py(site_and_instance: tuple[str, RunningInstance]) -> None:
    _, instance = site_and_instance
    assert instance.ctx is not None
    token = await make_token(instance.ctx, "alice")
    client = Mastodon(access_token=token, api_base_url=instance.base_url)
    updated = await asyncio.to_thread(
        client.account_update_credentials,
        display_name="Alice A.",
        avatar=image_bytes(800, 600),
        avatar_mime_type="image/png",
        header=image_bytes(2000, 1000, "JPEG"),
        header_mime_type="image/jpeg",
    )
    assert updated["display_name"] == "Alice A."
    assert "/media/" in updated["avatar"] and updated["avatar"].endswith(".png")
    assert updated["avatar_static"] == updated["avatar"]  # not animated
    assert "/media/" in updated["header"] and updated["header"].endswith(".jpg")
    async with instance.client(headers=bearer(token)) as api:
        me = await call(api, "GET", "/api/v1/accounts/verify_credentials")
        validate_entity("CredentialAccount", me)
        assert (me["avatar"], me["header"]) == (updated["avatar"], updated["header"])
        # Cropped and scaled to Mastodon's geometry, served like every media file.
        assert await _image_size(api, me["avatar"]) == ("image/png", (400, 400))
        assert await _image_size(api, me["header"]) == ("image/jpeg", (1500, 500))
        shown = await call(api, "GET", f"/api/v1/accounts/{me['id']}")
        assert shown["avatar"] == me["avatar"]
        actor = (await api.get("/users/alice", headers={"Accept": "application/activity+json"})).json()
        assert actor["icon"] == {"type": "Image", "url": me["avatar"]}
        assert actor["image"] == {"type": "Image", "url": me["header"]}
        page = await api.get("/@alice", headers={"Accept": "text/html"})
        assert f'class="u-photo" src="{me["avatar"]}"' in page.text  # the public profile page shows it too
        # The profile image is no attachment: the media API does not know it, no status can take it.
        avatar_row = await _profile_rows(instance, "avatar")
        assert len(avatar_row) == 1
        await call(api, "GET", f"/api/v1/media/{avatar_row[0]}", expect=404)
        await call(
            api,
            "POST",
            "/api/v1/statuses",
            data={"status": "x", "media_ids[]": str(avatar_row[0])},
            expect=422,
        )

        # A new avatar replaces the old one, whose file goes.
        old_avatar = me["avatar"]
        await asyncio.to_thread(
            client.account_update_credentials,
            avatar=image_bytes(300, 500, "JPEG"),
            avatar_mime_type="image/jpeg",
        )
        me = await call(api, "GET", "/api/v1/accounts/verify_credentials")
        assert me["avatar"] != old_avatar and me["avatar"].endswith(".jpg")
        assert await _image_size(api, me["avatar"]) == ("image/jpeg", (400, 400))
        assert (await api.get(old_avatar)).status_code == 404
        assert len(await _profile_rows(instance, "avatar")) == 1

        removed = await asyncio.to_thread(client.account_delete_avatar)
        assert removed["avatar"].endswith("/avatars/original/missing.png")
        assert (await api.get(me["avatar"])).status_code == 404
        removed = await call(api, "DELETE", "/api/v1/profile/header")
        assert removed["header"].endswith("/headers/original/missing.png")
        assert await _profile_rows(instance, "avatar") == [] and await _profile_rows(instance, "header") == []
        actor = (await api.get("/users/alice", headers={"Accept": "application/activity+json"})).json()
        assert "icon" not in actor and "image" not in actor


async def _profile_rows(instance: RunningInstance, kind: str) -> list[int]:
    assert instance.ctx is not None
    async with instance.ctx.db.read() as session:
        statement = select(MediaAttachment.id).where(MediaAttachment.media_type == kind)
        return list((await session.execute(statement)).scalars())


async def test_bad_images_and_large_bodies_change_nothing(
    site_and_instance: tuple[str, RunningInstance],
) -> None:
    _, instance = site_and_instance
    assert instance.ctx is not None
    token = await make_token(instance.ctx, "alice")
    async with instance.client(headers=bearer(token)) as api:
        before = await call(api, "GET", "/api/v1/accounts/verify_credentials")
        not_an_image = await api.patch(
            "/api/v1/accounts/update_credentials",
            data={"display_name": "Changed"},
            files={"avatar": ("a.png", b"this is no image", "image/png")},
        )
        assert not_an_image.status_code == 422 and "error" in not_an_image.json()
        too_large = await api.patch(
            "/api/v1/accounts/update_credentials",
            data={"display_name": "Changed"},
            files={"header": ("h.png", b"\x89PNG\r\n\x1a\n" + b"\0" * (MEDIA_LIMIT + 10), "image/png")},
        )
        assert too_large.status_code == 413 and "error" in too_large.json()
        # Past the body limit of the route (two images' worth): refused before it is read.
        huge = await api.patch(
            "/api/v1/accounts/update_credentials",
            files={"avatar": ("a.png", b"\0" * (2 * MEDIA_LIMIT + 100_000), "image/png")},
        )
        assert huge.status_code == 413 and "error" in huge.json()
        long_name = await api.patch(
            "/api/v1/accounts/update_credentials",
            data={"display_name": "x" * 31},
            files={"avatar": ("a.png", image_bytes(100, 100), "image/png")},
        )
        assert long_name.status_code == 422
        after = await call(api, "GET", "/api/v1/accounts/verify_credentials")
        assert after == before
    assert await _profile_rows(instance, "avatar") == []
    folders = list((instance.settings.server.data_dir / "media").glob("*"))
    assert folders == []  # the written files of the refused images were removed


async def _verifications_queued(ctx: Any) -> int:
    """Pending link verifications (a profile update also queues its fan-out to followers)."""
    async with ctx.db.read() as session:
        return len(
            (
                await session.execute(select(Job.id).where(Job.queue == "profile", Job.state == "pending"))
            ).all()
        )


async def test_rel_me_links_are_verified(site_and_instance: tuple[str, RunningInstance]) -> None:
    site, instance = site_and_instance
    ctx = instance.ctx
    assert ctx is not None
    token = await make_token(ctx, "alice")
    client = Mastodon(access_token=token, api_base_url=instance.base_url)
    fields = [
        ("Site", f"{site}/a"),
        ("Blog", f"{site}/link"),
        ("Other", f"{site}/elsewhere"),
        ("Plain", f"{site}/plain"),
    ]
    updated = await asyncio.to_thread(client.account_update_credentials, fields=fields)
    assert [field["verified_at"] for field in updated["fields"]] == [None] * 4
    assert await _verifications_queued(ctx) == 1
    await drain(ctx.db, job_handlers(ctx))
    async with instance.client(headers=bearer(token)) as api:
        me = await call(api, "GET", "/api/v1/accounts/verify_credentials")
        verified = [field["verified_at"] is not None for field in me["fields"]]
        assert verified == [True, True, False, False]
        assert [field["verified_at"] is not None for field in me["source"]["fields"]] == verified
        assert f'href="{site}/a"' in me["fields"][0]["value"]
        profile = await call(api, "GET", "/api/v1/profile")
        validate_entity("Profile", profile, all_properties=True)
        assert [field["value"] for field in profile["fields"]] == [value for _, value in fields]
        assert profile["avatar"] is None
        actor = (await api.get("/users/alice", headers={"Accept": "application/activity+json"})).json()
        assert actor["attachment"][0] == {
            "type": "PropertyValue",
            "name": "Site",
            "value": f'<a href="{site}/a" target="_blank" rel="nofollow noopener noreferrer me">{site}/a</a>',
        }
        # Saving the same value again keeps its verification; a new value starts unverified.
        first_verified = me["fields"][0]["verified_at"]
        changed = await call(
            api,
            "PATCH",
            "/api/v1/profile",
            data=_fields_form(("Site", f"{site}/a"), ("New", f"{site}/plain"), ("Short", f"{site}/short")),
        )
        assert [field["verified_at"] for field in changed["fields"]] == [first_verified, None, None]
        assert await _verifications_queued(ctx) == 1
        await drain(ctx.db, job_handlers(ctx))
        me = await call(api, "GET", "/api/v1/accounts/verify_credentials")
        assert [field["verified_at"] for field in me["fields"]][:2] == [first_verified, None]
        assert me["fields"][2]["verified_at"] is not None  # its rel="me" link redirects to the profile


async def test_verification_fetches_nothing_without_https(
    site_and_instance: tuple[str, RunningInstance],
) -> None:
    _, instance = site_and_instance
    ctx = instance.ctx
    assert ctx is not None
    token = await make_token(ctx, "alice")
    async with instance.client(headers=bearer(token)) as api:
        await call(
            api,
            "PATCH",
            "/api/v1/accounts/update_credentials",
            data=_fields_form(("Site", f"{instance.base_url}/x")),
        )
    assert await _verifications_queued(ctx) == 0  # plain http is not verified: no job


async def test_remote_profile_links_are_verified(tmp_path: Path) -> None:
    """Alice's links, as another Plein receives her actor: the field values arrive as HTML links, and that
    instance checks them itself (as Mastodon does for remote accounts)."""
    ca = PrivateCA(tmp_path)
    leaf = ca.issue("127.0.0.1")
    trusting = {"federation.ca_bundle": str(ca.certificate)}
    settings_a = make_settings(tmp_path / "a", **trusting)
    settings_b = make_settings(tmp_path / "b", **trusting)
    site_port = free_port()
    site = f"https://127.0.0.1:{site_port}"
    async with (
        serve_app(
            _pages(site, f"{settings_a.base_url}/@alice"),
            site_port,
            ssl_certfile=str(leaf.certificate),
            ssl_keyfile=str(leaf.key),
        ),
        serve_in_process(settings_a) as running_a,
        serve_in_process(settings_b) as running_b,
    ):
        a, b = Instance(running_a), Instance(running_b)
        token = await make_token(a.ctx, "alice")
        alice = await make_user(a.ctx, "alice")
        copy = await b.resolve(alice, a)
        await actions.follow(b.ctx, await b.local("bob"), copy)  # so that alice's Updates reach B
        await settle(a, b)
        async with running_a.client(headers=bearer(token)) as api:
            await call(
                api,
                "PATCH",
                "/api/v1/accounts/update_credentials",
                data=_fields_form(("Site", f"{site}/a"), ("Other", f"{site}/elsewhere")),
            )
        await settle(a, b)
        async with running_b.client() as reader:
            seen = await call(reader, "GET", f"/api/v1/accounts/{copy.id}")
        assert [field["verified_at"] is not None for field in seen["fields"]] == [True, False]
        verified_at = seen["fields"][0]["verified_at"]
        verifications = await b.count(Job, Job.queue == "profile")

        # Another Update with the same fields keeps the verification, and nothing is fetched anew.
        async with running_a.client(headers=bearer(token)) as api:
            await call(api, "PATCH", "/api/v1/accounts/update_credentials", data={"display_name": "Alice"})
        await settle(a, b)
        async with running_b.client() as reader:
            seen = await call(reader, "GET", f"/api/v1/accounts/{copy.id}")
        assert seen["display_name"] == "Alice"
        assert seen["fields"][0]["verified_at"] == verified_at
        assert await b.count(Job, Job.queue == "profile") == verifications
