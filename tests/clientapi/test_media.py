"""Media attachments end to end through the real endpoints: upload (type sniffed, EXIF stripped, preview,
blurhash), the owner's read/describe/delete, attaching to a status, the served files and their headers, and
a post with an image reaching another instance."""

from __future__ import annotations

import asyncio
import io
import os
import struct
import zlib
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
from checked import call
from mastodon import Mastodon
from PIL import Image
from sqlalchemy import func, select

from outbox.actions import follow
from storage.media import media_root
from storage.models import MediaAttachment, Status
from support.databases import sqlite_url
from support.federation import Instance, settle
from support.instance import RunningInstance, make_settings, serve_in_process
from support.oauth import bearer, make_token
from support.openapi import validate_entity

GPS_IFD = 0x8825
ORIENTATION = 0x0112
MAKE = 0x010F


def png_bytes(width: int = 640, height: int = 480) -> bytes:
    image = Image.new("RGB", (width, height), (30, 90, 160))
    for x in range(0, width, 16):  # some detail so the blurhash is not flat
        for y in range(height):
            image.putpixel((x, y), (250, 200, 20))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def jpeg_with_gps(width: int = 300, height: int = 200) -> bytes:
    """A phone-like photo: GPS position, maker, and 'rotate 90°' orientation in its EXIF."""
    exif = Image.Exif()
    exif[MAKE] = "SecretPhoneMaker"
    exif[ORIENTATION] = 6
    exif[GPS_IFD] = {1: "N", 2: (52.0, 4.0, 45.5), 3: "E", 4: (4.0, 18.0, 30.0)}
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(buffer, "JPEG", exif=exif)
    data = buffer.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(GPS_IFD)  # the fixture really carries GPS
    return data


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header announces `width`×`height` (a decompression bomb's opening), with one tiny row."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


async def upload(
    client: httpx.AsyncClient,
    data: bytes,
    *,
    filename: str = "picture.png",
    content_type: str = "image/png",
    version: str = "v2",
    expect: int = 200,
    **fields: str,
) -> Any:
    return await call(
        client,
        "POST",
        f"/api/{version}/media",
        files={"file": (filename, data, content_type)},
        data=fields,
        expect=expect,
    )


def stored_file(instance: RunningInstance, url: str) -> Path:
    relative = url.split("/media/", 1)[1]
    return media_root(instance.settings.server.data_dir) / relative


async def count_media(instance: RunningInstance) -> int:
    assert instance.ctx is not None
    async with instance.ctx.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(MediaAttachment)) or 0)


async def test_upload_strips_exif_makes_a_preview_and_serves_the_files(
    instance_on_each_backend: RunningInstance,
) -> None:
    instance = instance_on_each_backend
    token = await make_token(instance.ctx, "alice")
    async with instance.client(headers=bearer(token)) as client:
        png = await upload(client, png_bytes(), description="A chart", focus="0.5,-0.25")
        validate_entity("MediaAttachment", png, all_properties=True)
        assert png["type"] == "image" and png["description"] == "A chart" and png["blurhash"]
        assert png["meta"]["original"] == {
            "width": 640,
            "height": 480,
            "size": "640x480",
            "aspect": 640 / 480,
        }
        assert png["meta"]["small"]["width"] == 400 and png["meta"]["small"]["height"] == 300
        assert png["meta"]["focus"] == {"x": 0.5, "y": -0.25}
        assert png["url"].startswith(f"{instance.base_url}/media/") and png["url"].endswith("/original.png")
        assert png["remote_url"] is None

        # The JPEG arrives with GPS in its EXIF and a name and type that lie: neither is trusted.
        jpeg = await upload(
            client, jpeg_with_gps(), filename="scan.png", content_type="image/png", version="v1"
        )
        validate_entity("MediaAttachment", jpeg, all_properties=True)
        assert jpeg["url"].endswith("/original.jpg")
        # The orientation was applied to the pixels before the tag went: 300×200 rotated is 200×300.
        assert jpeg["meta"]["original"]["width"] == 200 and jpeg["meta"]["original"]["height"] == 300

    on_disk = stored_file(instance, jpeg["url"]).read_bytes()
    assert b"SecretPhoneMaker" not in on_disk and b"Exif" not in on_disk
    cleaned = Image.open(io.BytesIO(on_disk))
    assert cleaned.format == "JPEG" and len(cleaned.getexif()) == 0 and "exif" not in cleaned.info

    async with instance.client() as anonymous:  # files are public by their unguessable URL
        served = await anonymous.get(jpeg["url"])
        assert served.status_code == 200 and served.content == on_disk
        assert served.headers["content-type"] == "image/jpeg"
        assert served.headers["x-content-type-options"] == "nosniff"
        assert served.headers["content-security-policy"].startswith("default-src 'none'")
        assert "max-age=31536000" in served.headers["cache-control"]
        preview = await anonymous.get(png["preview_url"])
        assert preview.status_code == 200 and preview.headers["content-type"] == "image/png"
        assert max(Image.open(io.BytesIO(preview.content)).size) == 400
        head = await anonymous.head(png["url"])
        assert head.status_code == 200 and head.content == b""


async def test_bad_uploads_are_refused_and_nothing_is_stored(instance: RunningInstance) -> None:
    writer = bearer(await make_token(instance.ctx, "alice"))
    reader = bearer(await make_token(instance.ctx, "alice", scopes="read"))
    async with instance.client(headers=writer) as client:
        not_image = await upload(client, b"<svg onload=alert(1)>" * 10, expect=422)
        assert "JPEG, PNG, GIF or WebP" in not_image["error"]
        # The right magic number but a broken body: Pillow cannot decode it.
        await upload(client, png_bytes()[:40], expect=422)
        await upload(client, b"", expect=422)
        bomb = await upload(client, png_claiming(8000, 5000), expect=422)
        assert "pixels" in bomb["error"]
        await call(client, "POST", "/api/v2/media", data={"description": "no file"}, expect=422)
        await upload(client, png_bytes(), focus="2,0", expect=422)
        await upload(client, png_bytes(), description="x" * 1501, expect=422)
    async with instance.client(headers=reader) as client:
        await upload(client, png_bytes(), expect=403)
    async with instance.client() as anonymous:
        await upload(anonymous, png_bytes(), expect=401)
    assert await count_media(instance) == 0
    folder = media_root(instance.settings.server.data_dir)
    assert not folder.exists() or not any(folder.iterdir())


async def test_too_big_is_a_413(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, database_url=sqlite_url(str(tmp_path)), **{"limits.max_media_bytes": 20_000}
    )
    async with serve_in_process(settings) as instance:
        token = await make_token(instance.ctx, "alice")
        buffer = io.BytesIO()
        Image.frombytes("RGB", (100, 100), os.urandom(30_000)).save(buffer, "PNG")  # noise: incompressible
        big = buffer.getvalue()
        assert len(big) > 20_000
        async with instance.client(headers=bearer(token)) as client:
            refused = await upload(client, big, expect=413)
            assert "less than 20000 bytes" in refused["error"]
            await upload(client, png_bytes(64, 64))
        assert await count_media(instance) == 1


def gif_of_frames(frames: int, width: int, height: int) -> bytes:
    """A GIF whose canvas is `width`×`height`, with `frames` one-pixel frames: Pillow composes every frame on
    the whole canvas, so decoding it costs as much as `frames` full-size frames, from a few bytes each."""
    head = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
    control = b"\x21\xf9\x04\x00\x01\x00\x00\x00"  # 10 ms a frame
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
    return head + (control + frame) * frames + b"\x3b"


async def test_animations_are_bounded_by_their_pixels_over_all_frames(instance: RunningInstance) -> None:
    """Four 7680×4320 frames (each within the per-image limit) once took 5.6 s and 1.3 GiB to decode; a GIF
    of 200 000 tiny frames costs a step per frame just to count. Both are refused before decoding."""
    token = await make_token(instance.ctx, "alice")
    async with instance.client(headers=bearer(token)) as client:
        for hostile in [
            gif_of_frames(4, 7680, 4320),
            gif_of_frames(2, 7680, 4320),
            gif_of_frames(200_000, 2, 2),
        ]:
            refused = await upload(client, hostile, filename="a.gif", content_type="image/gif", expect=422)
            assert "in all its frames" in refused["error"]
        assert await count_media(instance) == 0
        # Positive control: a real animation keeps its frames.
        buffer = io.BytesIO()
        frames = [Image.new("RGB", (120, 80), (index * 40, 90, 160)) for index in range(5)]
        frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
        animated = await upload(client, buffer.getvalue(), filename="b.gif", content_type="image/gif")
        with Image.open(stored_file(instance, animated["url"])) as stored:
            assert stored.n_frames == 5 and stored.size == (120, 80)
        large_still = await upload(
            client, gif_of_frames(1, 7680, 4320), filename="c.gif", content_type="image/gif"
        )
        assert large_still["meta"]["original"]["width"] == 7680


async def test_owner_reads_describes_and_deletes_unattached_media(instance: RunningInstance) -> None:
    alice = bearer(await make_token(instance.ctx, "alice"))
    bob = bearer(await make_token(instance.ctx, "bob"))
    async with instance.client(headers=alice) as a, instance.client(headers=bob) as b:
        media = await upload(a, png_bytes())
        path = f"/api/v1/media/{media['id']}"
        assert (await call(a, "GET", path))["id"] == media["id"]
        changed = await call(a, "PUT", path, data={"description": "Budget 2027", "focus": "-1,1"})
        validate_entity("MediaAttachment", changed, all_properties=True)
        assert changed["description"] == "Budget 2027" and changed["meta"]["focus"] == {"x": -1.0, "y": 1.0}
        assert changed["meta"]["original"]["width"] == 640  # the rest of meta survives
        await call(b, "GET", path, expect=404)
        await call(b, "PUT", path, data={"description": "mine now"}, expect=404)
        await call(b, "DELETE", path, expect=404)
        await call(a, "GET", "/api/v1/media/not-a-number", expect=404)

        doomed = await upload(a, png_bytes(32, 32))
        await call(a, "DELETE", f"/api/v1/media/{doomed['id']}")
        await call(a, "GET", f"/api/v1/media/{doomed['id']}", expect=404)
        assert not stored_file(instance, doomed["url"]).exists()
        assert (await a.get(doomed["url"])).status_code == 404

        posted = await call(
            a, "POST", "/api/v1/statuses", data={"status": "with", "media_ids[]": media["id"]}
        )
        assert posted["media_attachments"][0]["description"] == "Budget 2027"
        await call(a, "GET", path, expect=404)  # attached: no longer editable here, as in Mastodon
        await call(a, "DELETE", path, expect=404)


async def test_attached_media_shows_in_the_status_and_the_note(
    instance_on_each_backend: RunningInstance,
) -> None:
    instance = instance_on_each_backend
    alice = bearer(await make_token(instance.ctx, "alice"))
    bob = bearer(await make_token(instance.ctx, "bob"))
    async with instance.client(headers=alice) as a, instance.client(headers=bob) as b:
        chart = await upload(a, png_bytes(), description="A chart")
        scan = await upload(a, jpeg_with_gps())
        bobs = await upload(b, png_bytes(32, 32))

        # Someone else's media refuses the whole post: no status, bob's file stays unattached.
        refused = await call(
            a,
            "POST",
            "/api/v1/statuses",
            data={"status": "theft", "media_ids[]": [chart["id"], bobs["id"]]},
            expect=422,
        )
        assert bobs["id"] in refused["error"]
        assert instance.ctx is not None
        async with instance.ctx.db.read() as session:
            assert await session.scalar(select(func.count()).select_from(Status)) == 0
            assert (await session.get(MediaAttachment, int(chart["id"]))).status_id is None  # type: ignore[union-attr]
        assert (await call(b, "GET", f"/api/v1/media/{bobs['id']}"))["id"] == bobs["id"]

        posted = await call(
            a, "POST", "/api/v1/statuses", data={"status": "Report", "media_ids[]": [chart["id"], scan["id"]]}
        )
        validate_entity("Status", posted, all_properties=True)
        assert [m["id"] for m in posted["media_attachments"]] == [chart["id"], scan["id"]]
        shown = (await call(a, "GET", f"/api/v1/statuses/{posted['id']}"))["media_attachments"]
        validate_entity("MediaAttachment", shown, all_properties=True)
        assert shown[0]["url"] == chart["url"] and shown[0]["blurhash"] == chart["blurhash"]
        # Reusing attached media in another post is refused too.
        await call(
            a, "POST", "/api/v1/statuses", data={"status": "again", "media_ids[]": chart["id"]}, expect=422
        )

    async with instance.client(headers={"Accept": "application/activity+json"}) as fetcher:
        note = (await fetcher.get(posted["uri"])).json()
        attachments = note["attachment"]
        assert [item["url"] for item in attachments] == [chart["url"], scan["url"]]
        assert attachments[0]["mediaType"] == "image/png" and attachments[0]["name"] == "A chart"
        assert attachments[0]["width"] == 640 and attachments[0]["blurhash"] == chart["blurhash"]
        image = await fetcher.get(attachments[1]["url"])
        assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
        assert image.content == stored_file(instance, scan["url"]).read_bytes()


async def test_served_paths_cannot_be_forged(instance: RunningInstance) -> None:
    token = await make_token(instance.ctx, "alice")
    async with instance.client(headers=bearer(token)) as client:
        media = await upload(client, png_bytes(32, 32))
    folder, name = media["url"].split("/media/", 1)[1].split("/")
    media_id, secret = folder.split("_")
    forged = [
        f"/media/{media_id}_{'0' * 32}/{name}",  # the right id, a guessed secret
        f"/media/{folder}/original.jpg",  # another extension
        f"/media/{folder}/big.png",
        f"/media/{folder}/..%2F..%2Fplein.db",
        f"/media/{folder}/%2e%2e",
        f"/media/{int(media_id) + 1}_{secret}/{name}",
        "/media/../plein.db",
    ]
    async with instance.client() as anonymous:
        assert (await anonymous.get(media["url"])).status_code == 200
        for path in forged:
            response = await anonymous.get(path)
            assert response.status_code == 404, path
            assert not response.headers["content-type"].startswith("image/")


async def test_an_image_post_reaches_another_instance(tmp_path: Path) -> None:
    async with AsyncExitStack() as stack:
        a, b = [
            Instance(await stack.enter_async_context(serve_in_process(make_settings(tmp_path / name))))
            for name in ("a", "b")
        ]
        alice = await a.local("alice")
        bob = await b.local("bob")
        await follow(b.ctx, bob, await b.resolve(alice, a))
        await settle(a, b)
        async with a.running.client(headers=bearer(await make_token(a.ctx, "alice"))) as client:
            media = await upload(client, png_bytes(), description="Scanned letter")
            posted = await call(
                client, "POST", "/api/v1/statuses", data={"status": "Letter", "media_ids[]": media["id"]}
            )
        await settle(a, b)

        copy = await b.status(posted["uri"])
        assert copy is not None
        async with b.ctx.db.read() as session:
            stored = (
                (await session.execute(select(MediaAttachment).where(MediaAttachment.status_id == copy.id)))
                .scalars()
                .all()
            )
        assert [(m.remote_url, m.content_type) for m in stored] == [(media["url"], "image/png")]
        assert stored[0].description == "Scanned letter" and stored[0].file_path is not None

        async with b.running.client(headers=bearer(await make_token(b.ctx, "bob"))) as reader:
            seen = (await call(reader, "GET", f"/api/v1/statuses/{copy.id}"))["media_attachments"]
            validate_entity("MediaAttachment", seen, all_properties=True)
            # B serves its own copy (test_media_cache); remote_url is A's file.
            assert seen[0]["url"].startswith(f"{b.running.base_url}/media/")
            assert seen[0]["remote_url"] == media["url"]
            assert seen[0]["meta"]["original"]["width"] == 640
            image = await reader.get(seen[0]["url"])
            assert image.status_code == 200 and image.headers["content-type"] == "image/png"


async def test_mastodon_py_uploads_and_posts_an_image(instance: RunningInstance) -> None:
    """A real client library: Mastodon.py's `media_post` (v2 endpoint) then `status_post(media_ids=…)`."""
    client = Mastodon(access_token=await make_token(instance.ctx, "alice"), api_base_url=instance.base_url)
    media = await asyncio.to_thread(
        client.media_post, png_bytes(), mime_type="image/png", description="Org chart", focus=(0.1, 0.2)
    )
    assert media["type"] == "image" and media["url"] and media["description"] == "Org chart"
    status = await asyncio.to_thread(client.status_post, "Our new org chart", media_ids=[media])
    assert [item["id"] for item in status["media_attachments"]] == [media["id"]]
    assert status["media_attachments"][0]["meta"]["focus"] == {"x": 0.1, "y": 0.2}
