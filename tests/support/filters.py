"""Content filters for API tests, made through the real endpoint."""

from __future__ import annotations

from typing import Any

import httpx

from support.openapi import validate_response


async def create_filter(
    client: httpx.AsyncClient,
    context: list[str],
    action: str,
    *keywords: str | tuple[str, bool],
    title: str = "",
) -> dict[str, Any]:
    """POST /api/v2/filters with `keywords` (a word, whole-word by default, or (word, whole_word)); the
    title is the first keyword unless given. Returns the Filter entity, checked against the OpenAPI."""
    pairs = [(keyword, True) if isinstance(keyword, str) else keyword for keyword in keywords]
    response = await client.post(
        "/api/v2/filters",
        json={
            "title": title or pairs[0][0],
            "context": context,
            "filter_action": action,
            "keywords_attributes": [{"keyword": word, "whole_word": whole} for word, whole in pairs],
        },
    )
    assert response.status_code == 200, response.text
    validate_response("/api/v2/filters", "POST", 200, response.json())
    return response.json()  # type: ignore[no-any-return]
