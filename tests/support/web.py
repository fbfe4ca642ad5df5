"""Driving the web interface over HTTP as a browser would: log in through `/login` with the page's CSRF
token, read a page's form token, post forms with it."""

from __future__ import annotations

import io
import re

import httpx
from PIL import Image

from support.oauth import form_fields

PASSWORD = "correct horse battery staple"  # of the test accounts web tests sign in with
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(page_html: str) -> str:
    """The CSRF token the page's forms carry."""
    found = _CSRF.search(page_html)
    assert found is not None, "the page has no form token"
    return found.group(1)


async def web_login(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    """Log in through the login form (no second factor); returns the redirect."""
    page = await client.get("/login")
    response = await client.post(
        "/login", data={**form_fields(page.text), "username": username, "password": password}
    )
    assert response.status_code == 303, response.text
    return response


async def post_form(
    client: httpx.AsyncClient, page_path: str, action: str, data: dict[str, str], **options: object
) -> httpx.Response:
    """Open `page_path`, then post `data` to `action` with that page's CSRF token."""
    page = await client.get(page_path)
    assert page.status_code == 200, page.text
    return await client.post(action, data={"csrf_token": csrf_of(page.text), **data}, **options)  # type: ignore[arg-type]


def png_bytes(width: int = 64, height: int = 48) -> bytes:
    """A small PNG image, as a browser would upload it."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 60, 20)).save(buffer, format="PNG")
    return buffer.getvalue()
