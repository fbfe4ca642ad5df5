"""Client API calls whose responses are validated against the Mastodon OpenAPI description on the way."""

from __future__ import annotations

from typing import Any

import httpx

from support.openapi import validate_response


async def call(
    client: httpx.AsyncClient, method: str, path: str, *, expect: int = 200, **options: Any
) -> Any:
    """Send a request, assert its status is `expect`, validate the JSON body against the documented
    response of that path and status, and return the body."""
    response = await client.request(method, path, **options)
    assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text}"
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    validate_response(path, method, response.status_code, body)
    return body
