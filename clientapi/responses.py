"""JSON responses of the client API (orjson: fast, and UTF-8 without escaping)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class ApiResponse(Response):
    """`application/json; charset=utf-8`; an empty result is `{}`, never an empty body."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps({} if content is None else content)


def api_response(
    content: Any, *, status_code: int = 200, headers: dict[str, str] | None = None
) -> ApiResponse:
    """A JSON response of `content` (None → `{}`)."""
    return ApiResponse(content, status_code=status_code, headers=headers)
