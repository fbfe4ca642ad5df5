"""Plein behind a real nginx (Debian's package) on loopback, configured with the shipped
`deploy/nginx/plein.conf` (only its placeholders replaced): TLS with a private CA, the client's address taken
from nginx's X-Forwarded-For because `server.trusted_proxies` names nginx (a forged one is not believed),
nginx's request id in Plein's access log, an upload over the general body limit accepted on the media route
and refused elsewhere, media files then served by nginx from disk, and streaming — WebSocket and
server-sent events — through the proxy."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import websockets
from PIL import Image

from storage.context import Context
from storage.db import Database
from support.instance import PleinProcess, free_port, make_settings
from support.oauth import make_token
from support.streams import next_sse_event
from support.tls import PrivateCA

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"  # Debian's package, installed by .ci/run
SITE = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "plein.conf"
CLIENT_ADDRESS = "127.0.0.2"  # the test's client connects from here; nginx and Plein live on 127.0.0.1

pytestmark = pytest.mark.skipif(
    not os.path.exists(NGINX), reason="needs Debian's nginx (.ci/run installs it)"
)


def _site(tls_port: int, upstream_port: int, media: Path, certificate: Path, key: Path) -> str:
    """The shipped site configuration with its placeholders filled in for this test."""
    text = SITE.read_text()
    for placeholder, value in (
        ("listen 80;", f"listen 127.0.0.1:{free_port()};"),
        ("listen [::]:80;", ""),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{tls_port} ssl http2;"),
        ("listen [::]:443 ssl http2;", ""),
        ("/etc/ssl/plein/fullchain.pem", str(certificate)),
        ("/etc/ssl/plein/privkey.pem", str(key)),
        ("127.0.0.1:8000", f"127.0.0.1:{upstream_port}"),
        ("/var/lib/plein/data/media/", f"{media}/"),
    ):
        assert placeholder in text, placeholder
        text = text.replace(placeholder, value)
    return text


@contextlib.asynccontextmanager
async def _nginx(folder: Path, site: str) -> AsyncIterator[None]:
    """nginx in the foreground with its own prefix, pid, logs and temp folders under `folder`."""
    (folder / "site.conf").write_text(site)
    (folder / "nginx.conf").write_text(
        f"""
user root;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    access_log {folder}/access.log;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/site.conf;
}}
"""
    )
    check = subprocess.run(
        [NGINX, "-t", "-p", str(folder), "-c", str(folder / "nginx.conf")], capture_output=True
    )
    assert check.returncode == 0, check.stderr.decode()
    with (folder / "stderr.log").open("wb") as stderr:
        process = subprocess.Popen(
            [NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-g", "daemon off;"], stderr=stderr
        )
    try:
        await asyncio.sleep(0.5)
        assert process.poll() is None, (folder / "stderr.log").read_text()
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


def _noise_png(size: tuple[int, int]) -> bytes:
    """A PNG of random pixels (incompressible): a body of known, large size."""
    image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


async def test_plein_behind_nginx(tmp_path: Path) -> None:
    ca = PrivateCA(tmp_path)
    leaf = ca.issue("127.0.0.1")
    tls_port, upstream_port = free_port(), free_port()
    base_url = f"https://127.0.0.1:{tls_port}"
    data = tmp_path / "data"
    settings = make_settings(
        data,
        port=tls_port,
        **{
            "instance.base_url": base_url,
            "server.listen_port": upstream_port,
            "server.trusted_proxies": ["127.0.0.1/32"],
            "server.log_client_addresses": True,
            "server.log_level": "info",
        },
    )
    (tmp_path / "plein").mkdir()
    plein = PleinProcess(settings, tmp_path / "plein")
    await plein.start()
    ctx = Context(settings=settings, db=Database(settings.database_url))
    trust = ssl.create_default_context(cafile=str(ca.certificate))
    nginx_folder = tmp_path / "nginx"
    nginx_folder.mkdir()
    site = _site(tls_port, upstream_port, data / "media", leaf.certificate, leaf.key)
    try:
        token = await make_token(ctx, "alice", "read write")
        headers = {"Authorization": f"Bearer {token}"}
        transport = httpx.AsyncHTTPTransport(local_address=CLIENT_ADDRESS, verify=trust)
        async with (
            _nginx(nginx_folder, site),
            httpx.AsyncClient(base_url=base_url, transport=transport, timeout=30) as client,
        ):
            # The client's address: nginx's X-Forwarded-For, believed from the trusted proxy; the entry the
            # client forged in front of it is not.
            answer = await client.get("/api/v1/instance", headers={"X-Forwarded-For": "203.0.113.66"})
            assert answer.status_code == 200 and answer.json()["uri"] == f"127.0.0.1:{tls_port}"
            request_id = answer.headers["x-request-id"]
            assert len(request_id) == 32  # nginx's $request_id, passed on and logged under
            await asyncio.sleep(0.2)
            access = [line for line in plein.log().splitlines() if request_id in line]
            assert access and access[0].endswith(
                f"GET /api/v1/instance 200 {access[0].split()[-2]} {CLIENT_ADDRESS}"
            )
            assert "203.0.113.66" not in plein.log()

            # Uploads: 2 MiB passes on the media route, is refused by nginx on any other.
            picture = _noise_png((900, 800))
            assert len(picture) > 2 * 1024 * 1024
            upload = await client.post(
                "/api/v2/media", headers=headers, files={"file": ("noise.png", picture, "image/png")}
            )
            assert upload.status_code in (200, 202), upload.text
            too_big = await client.post(
                "/api/v1/statuses", headers=headers, files={"file": ("noise.png", picture, "image/png")}
            )
            assert too_big.status_code == 413
            # The file is then served by nginx from disk: Plein never sees the request.
            file_path = httpx.URL(upload.json()["url"]).path
            served = await client.get(file_path)
            assert served.status_code == 200 and served.headers["content-type"].startswith("image/")
            assert served.headers["x-content-type-options"] == "nosniff"
            assert "default-src 'none'" in served.headers["content-security-policy"]
            await asyncio.sleep(0.2)
            assert file_path not in plein.log()
            gone = await client.get("/media/1_nosuchsecret/original.png")
            assert gone.status_code == 404  # not on disk: Plein answers

            # Streaming through the proxy: server-sent events and a WebSocket see a new post.
            async with client.stream("GET", "/api/v1/streaming/user", headers=headers) as stream:
                assert stream.status_code == 200
                lines = stream.aiter_lines()
                assert await asyncio.wait_for(anext(lines), 10) == ":)"
                socket_url = f"wss://127.0.0.1:{tls_port}/api/v1/streaming?stream=user&access_token={token}"
                async with websockets.connect(socket_url, ssl=trust) as socket:
                    posted = await client.post(
                        "/api/v1/statuses", headers=headers, data={"status": "via nginx"}
                    )
                    assert posted.status_code == 200
                    event, payload = await asyncio.wait_for(next_sse_event(lines), 10)
                    assert event == "update" and json.loads(payload)["id"] == posted.json()["id"]
                    message = json.loads(await asyncio.wait_for(socket.recv(), 10))
                    assert (
                        message["event"] == "update"
                        and json.loads(message["payload"])["id"] == posted.json()["id"]
                    )
    finally:
        plein.stop()
        await ctx.db.dispose()
