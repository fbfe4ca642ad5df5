"""Request bodies are bounded for every route before they are read (`plein.limits`), and the client API
bounds what a body may hold: JSON depth, bracket-name depth, string lengths. All through a real uvicorn
server on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from PIL import Image
from sqlalchemy import func, select

from storage.models import OAuthApp, Status
from support.instance import RunningInstance, make_settings, serve_in_process
from support.oauth import bearer, make_token

BODY_LIMIT = 64 * 1024
MEDIA_LIMIT = 512 * 1024
HUGE = 30 * 1024 * 1024


@pytest.fixture
async def instance(tmp_path: Path, database_url: str) -> AsyncIterator[RunningInstance]:
    settings = make_settings(
        tmp_path,
        database_url=database_url,
        **{"limits.max_body_bytes": BODY_LIMIT, "limits.max_media_bytes": MEDIA_LIMIT},
    )
    async with serve_in_process(settings) as running:
        yield running


async def _count(instance: RunningInstance, model: Any) -> int:
    assert instance.ctx is not None
    async with instance.ctx.db.read() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def raw_request(instance: RunningInstance, head: str, body: bytes = b"") -> tuple[int, bytes]:
    """Send `head` (and `body`) on a raw socket and read the answer: the status and the body. Used where
    the point is what the server does before the client has sent its whole body."""
    address = urlsplit(instance.base_url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    try:
        writer.write(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        await writer.drain()
        # A guard against hanging for ever on a server that waits for the rest of the body, not a measure.
        status_line = await asyncio.wait_for(reader.readline(), 60)
        headers: dict[str, str] = {}
        while (line := await asyncio.wait_for(reader.readline(), 60)) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        answer = await asyncio.wait_for(reader.readexactly(int(headers.get("content-length", "0"))), 60)
        return int(status_line.split()[1]), answer
    finally:
        writer.close()


def noise_png(width: int, height: int) -> bytes:
    """A PNG of random pixels: it does not compress, so its size is about width × height × 3."""
    buffer = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(buffer, "PNG")
    return buffer.getvalue()


def _head(method: str, path: str, instance: RunningInstance, **headers: str) -> str:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {urlsplit(instance.base_url).netloc}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return "\n".join(lines) + "\n"


async def test_declared_oversize_bodies_are_refused_before_any_byte_is_read(
    instance: RunningInstance,
) -> None:
    """Only the headers are sent: the answer comes without the body, on every kind of route."""
    assert instance.ctx is not None
    token = await make_token(instance.ctx, "alice")
    apps_before = await _count(instance, OAuthApp)
    for path, declared in [
        ("/api/v1/apps", HUGE),
        ("/api/v1/statuses", HUGE),
        ("/inbox", HUGE),
        ("/oauth/token", HUGE),
        ("/api/v1/media", 2 * 1024**3),  # 2 GiB: over the media limit too
        ("/api/v2/media", MEDIA_LIMIT + 1024 * 1024),
    ]:
        head = _head(
            "POST",
            path,
            instance,
            Authorization=f"Bearer {token}",
            Content_Type="application/json",
            Content_Length=str(declared),
        )
        status, answer = await raw_request(instance, head)
        assert status == 413, (path, status, answer)
        assert "larger than" in json.loads(answer)["error"]
    assert await _count(instance, OAuthApp) == apps_before


async def test_streamed_oversize_bodies_are_cut_off_while_counting(instance: RunningInstance) -> None:
    """Chunked bodies (no Content-Length) are counted as they arrive: 30 MiB of JSON to /api/v1/apps and
    /api/v1/statuses is refused and creates nothing."""
    assert instance.ctx is not None
    token = await make_token(instance.ctx, "alice")
    apps_before, statuses_before = await _count(instance, OAuthApp), await _count(instance, Status)
    padding = "x" * HUGE

    async def chunks(document: dict[str, Any]) -> AsyncIterator[bytes]:
        data = json.dumps(document).encode()
        for start in range(0, len(data), 256 * 1024):
            yield data[start : start + 256 * 1024]

    async with instance.client(headers={**bearer(token), "Content-Type": "application/json"}) as client:
        app = {"client_name": "big", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "website": padding}
        refused = await client.post("/api/v1/apps", content=chunks(app))
        assert refused.status_code == 413, refused.text[:200]
        refused = await client.post("/api/v1/statuses", content=chunks({"status": "hi", "x": padding}))
        assert refused.status_code == 413, refused.text[:200]
        assert "error" in refused.json()
        # Positive control: a small chunked body and a plain one are read as before.
        created = await client.post("/api/v1/apps", content=chunks({**app, "website": "https://a.example"}))
        assert created.status_code == 200, created.text[:200]
        posted = await client.post("/api/v1/statuses", json={"status": "within the limit"})
        assert posted.status_code == 200, posted.text[:300]
    assert await _count(instance, OAuthApp) == apps_before + 1
    assert await _count(instance, Status) == statuses_before + 1


async def test_uploads_get_the_media_limit_and_files_over_it_a_413(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    token = await make_token(instance.ctx, "alice")
    image = noise_png(300, 300)
    assert BODY_LIMIT < len(image) < MEDIA_LIMIT  # too big for an ordinary route, fine for an upload
    noise = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * ((MEDIA_LIMIT + 2048) // 256)
    async with instance.client(headers=bearer(token)) as client:
        uploaded = await client.post("/api/v2/media", files={"file": ("a.png", image, "image/png")})
        assert uploaded.status_code == 200, uploaded.text[:300]
        too_big = await client.post("/api/v1/media", files={"file": ("b.png", noise, "image/png")})
        assert too_big.status_code == 413, too_big.text[:300]
        assert "less than" in too_big.json()["error"]
        elsewhere = await client.post("/api/v1/statuses", files={"file": ("a.png", image, "image/png")})
        assert elsewhere.status_code == 413, elsewhere.text[:300]


async def test_client_api_bounds_json_depth_names_and_strings(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    token = await make_token(instance.ctx, "alice")
    statuses_before = await _count(instance, Status)
    deep: Any = "bottom"
    for _ in range(500):
        deep = [deep]
    async with instance.client(headers=bearer(token)) as client:
        for body in [
            '{"status": "x", "a": ' + "[" * 5000 + "]" * 5000 + "}",  # past orjson's own recursion limit
            json.dumps({"status": "x", "a": deep}),
            json.dumps({"status": "x", "a" + "[b]" * 3000: "1"}),  # bracket names inside JSON
        ]:
            response = await client.post(
                "/api/v1/statuses", content=body, headers={"Content-Type": "application/json"}
            )
            assert response.status_code in (400, 422), response.text[:300]
        deep_name = await client.post("/api/v1/statuses", data={"status": "x", "a" + "[b]" * 3000: "1"})
        assert deep_name.status_code == 422, deep_name.text[:300]
        deep_query = await client.get("/api/v1/timelines/public?" + "a" + "[b]" * 3000 + "=1")
        assert deep_query.status_code == 422, deep_query.text[:300]
        for path, fields in [
            (
                "/api/v1/apps",
                {"client_name": "x", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "r" * 5000},
            ),
            ("/api/v2/search", {"q": "a" * 5000}),
            ("/api/v1/accounts/lookup", {"acct": "a" * 5000}),
        ]:
            method = "POST" if path == "/api/v1/apps" else "GET"
            options: dict[str, Any] = {"data": fields} if method == "POST" else {"params": fields}
            response = await client.request(method, path, **options)
            assert response.status_code == 422, (path, response.status_code, response.text[:300])
        too_long_field = await client.patch(
            "/api/v1/accounts/update_credentials",
            data={"fields_attributes[0][name]": "n" * 256, "fields_attributes[0][value]": "v"},
        )
        assert too_long_field.status_code == 422, too_long_field.text[:300]
        nested_field = await client.patch(
            "/api/v1/accounts/update_credentials", data={"fields_attributes[0][name][x]": "n"}
        )
        assert nested_field.status_code == 422, nested_field.text[:300]
        # A language code longer than the column once reached PostgreSQL (500); it is ignored, as Mastodon does.
        posted = await client.post("/api/v1/statuses", data={"status": "bonjour", "language": "l" * 40})
        assert posted.status_code == 200, posted.text[:300]
        # Positive controls.
        fine = await client.post("/api/v1/statuses", json={"status": "hello", "language": "fr"})
        assert fine.status_code == 200 and fine.json()["language"] == "fr"
        fields = await client.patch(
            "/api/v1/accounts/update_credentials",
            data={"fields_attributes[0][name]": "site", "fields_attributes[0][value]": "v" * 255},
        )
        assert fields.status_code == 200, fields.text[:300]
    assert await _count(instance, Status) == statuses_before + 2


class _Watch(logging.Handler):
    """Collects log records, and says when one arrives that tells how a request ended."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []
        self.ended = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        if record.exc_info or "went away" in record.getMessage() or record.levelno >= logging.ERROR:
            self.ended.set()


async def test_client_that_goes_away_mid_upload_is_a_logged_4xx(
    instance: RunningInstance, caplog: pytest.LogCaptureFixture
) -> None:
    """Half a multipart body, then the socket closes: the server logs a 400 and no traceback."""
    assert instance.ctx is not None
    token = await make_token(instance.ctx, "alice")
    watch = _Watch()
    root = logging.getLogger()
    root.addHandler(watch)
    caplog.set_level(logging.INFO, logger="plein.http")
    try:
        boundary = "xyzzy"
        part = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
                "Content-Type: image/png\r\n\r\n"
            ).encode()
            + b"\x89PNG\r\n\x1a\n"
            + b"\0" * 100_000
        )
        head = _head(
            "POST",
            "/api/v1/media",
            instance,
            Authorization=f"Bearer {token}",
            Content_Type=f"multipart/form-data; boundary={boundary}",
            Content_Length=str(len(part) * 2),
        )
        address = urlsplit(instance.base_url)
        _, writer = await asyncio.open_connection(address.hostname, address.port)
        writer.write(head.replace("\n", "\r\n").encode() + b"\r\n" + part)
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        await asyncio.wait_for(watch.ended.wait(), 60)  # a guard, not a measure
    finally:
        root.removeHandler(watch)
    assert not [record for record in watch.records if record.exc_info], caplog.text[:300]
    assert not [record for record in watch.records if record.levelno >= logging.ERROR], caplog.text[:300]
    assert any(
        "400" in record.getMessage() and "went away" in record.getMessage() for record in watch.records
    )
    async with instance.client(headers=bearer(token)) as client:  # the server carries on
        assert (await client.get("/api/v1/accounts/verify_credentials")).status_code == 200


async def test_nul_characters_never_reach_the_database(instance: RunningInstance) -> None:
    """PostgreSQL text cannot hold NUL: schemathesis found `q=%00` answering 500 on the account search."""
    assert instance.ctx is not None
    token = await make_token(instance.ctx, "alice")
    async with instance.client(headers=bearer(token)) as client:
        for url in ["/api/v1/accounts/search?q=a%00b", "/api/v2/search?q=%00", "/users/a%00b", "/@a%00b"]:
            response = await client.get(url)
            assert response.status_code == 400, (url, response.status_code, response.text[:300])
            assert "NUL" in response.json()["error"]
        for body in [
            {"status": "a\u0000b"},
            {"status": "x", "spoiler_text": "\u0000"},
            {"status": "x", "media_ids": ["\u0000"]},
        ]:
            response = await client.post("/api/v1/statuses", json=body)
            assert response.status_code == 422, (body, response.status_code, response.text[:300])
        response = await client.post(
            "/api/v1/apps", json={"client_name": "x", "redirect_uris": ["https://a.example/\u0000"]}
        )
        assert response.status_code == 422, response.text[:300]
        response = await client.post("/api/v1/statuses", json={"status": "a\u2400b"})  # positive control
        assert response.status_code == 200, response.text[:300]
