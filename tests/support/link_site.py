"""A government website for preview card tests: articles with OpenGraph tags (two of them crediting accounts
with `fediverse:creator`), an og:image, and pages that must not give a card — served over https on 127.0.0.1
with a certificate from a private CA the instance trusts."""

from __future__ import annotations

import contextlib
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from support.instance import RunningInstance, free_port, make_settings, serve_app, serve_in_process
from support.tls import PrivateCA


def png_bytes(width: int, height: int) -> bytes:
    image = Image.new("RGB", (width, height), (200, 30, 60))
    output = io.BytesIO()
    image.save(output, format="PNG")
    return output.getvalue()


def article(title: str, *, extra: str = "") -> str:
    return f"""<!doctype html><html lang="nl"><head>
      <title>Fallback title</title>
      <meta property="og:title" content="{title}">
      <meta property="og:description" content="Wat de gemeente &amp; de provincie afspraken.">
      <meta property="og:site_name" content="Rijksoverheid">
      <meta property="og:image" content="/images/banner.png">
      <meta property="og:image:alt" content="Een rode banner">
      <meta property="article:published_time" content="2026-11-30T09:00:00Z">
      {extra}
    </head><body><p>Het artikel.</p></body></html>"""


def site_app(instance_domain: str = "") -> Starlette:
    """A government website: articles with OpenGraph tags (two crediting accounts of the instance at
    `instance_domain` with `fediverse:creator`), and pages that must not give a card."""
    pages = {
        "/van-alice": article(
            "Door Alice",
            extra=f'<meta name="fediverse:creator" content="@alice@{instance_domain}">'
            '<meta property="og:author" content="Alice A.">',
        ),
        "/van-bob": article(
            "Door Bob", extra=f'<meta name="fediverse:creator" content="@bob@{instance_domain}">'
        ),
        "/artikel": article("Nieuw klimaatakkoord"),
        "/tweede": article("Tweede artikel"),
        "/zonder-titel": "<html><head></head><body>nothing to call it</body></html>",
        "/video": '<html><head><title>Video page</title><link rel="alternate" type="application/json+oembed"'
        ' href="/oembed.json"></head></html>',
        "/titel-alleen": "<html><head><title>  Alleen   een titel </title>"
        '<meta name="description" content="Beschrijving uit meta"></head></html>',
    }

    async def page(request: Request) -> Response:
        path = request.url.path
        if path in pages:
            return HTMLResponse(pages[path])
        if path == "/tekst":
            return PlainTextResponse("<title>not html</title>")
        if path == "/groot":
            padding = "<!-- padding -->" * 80_000  # more than the client's 1 MiB cap
            return HTMLResponse(f"<html><head><title>Big</title></head><body>{padding}</body></html>")
        if path == "/oembed.json":
            return JSONResponse(
                {
                    "type": "video",
                    "title": "Persconferentie",
                    "provider_name": "Overheid Video",
                    "html": '<iframe src="https://video.example/embed/1" width="480" height="270"></iframe>'
                    "<script>steal()</script>",
                    "width": 480,
                    "height": 270,
                    "thumbnail_url": "/images/banner.png",
                }
            )
        if path == "/images/banner.png":
            return Response(png_bytes(1280, 640), media_type="image/png")
        return HTMLResponse("gone", status_code=404)

    return Starlette(routes=[Route("/{path:path}", page)])


@dataclass
class Site:
    url: str
    instance: RunningInstance


@contextlib.asynccontextmanager
async def site_and_instance(tmp_path: Path, database_url: str) -> AsyncIterator[Site]:
    """The site and an instance (on the database at `database_url`) trusting its private CA."""
    ca = PrivateCA(tmp_path)
    leaf = ca.issue("127.0.0.1")
    settings = make_settings(
        tmp_path, database_url=database_url, **{"federation.ca_bundle": str(ca.certificate)}
    )
    port = free_port()
    app = site_app(settings.domain)
    async with (
        serve_app(app, port, ssl_certfile=str(leaf.certificate), ssl_keyfile=str(leaf.key)),
        serve_in_process(settings) as running,
    ):
        yield Site(f"https://127.0.0.1:{port}", running)
