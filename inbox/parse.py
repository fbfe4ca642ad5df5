"""Reading a delivery: the body (size-capped below the routes, `plein.limits`), its content type, and the JSON itself
(depth-capped), then the activity's identity (id, type, actor)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request

from apub.hosts import origin_of
from apub.jsondepth import exceeds_depth
from apub.vocab import is_activity_json
from inbox.errors import MalformedActivity, UnsupportedMediaType
from webfinger.convert import id_of

MAX_JSON_DEPTH = 32


async def read_body(request: Request) -> bytes:
    """The request body; its size was checked by the body limit below the routes (`plein.limits`: 413 on
    `Content-Length`, or while a chunked body streams)."""
    # The ASGI messages themselves: Starlette's stream() wraps each in a generator step, on every delivery.
    chunks: list[bytes] = []
    receive = request.receive
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def check_content_type(request: Request) -> None:
    """Refuse anything but `application/activity+json` and `application/ld+json`."""
    if not is_activity_json(request.headers.get("content-type", "")):
        raise UnsupportedMediaType("expected application/activity+json or application/ld+json")


def parse_json(body: bytes) -> dict[str, Any]:
    """The body as a JSON object no deeper than MAX_JSON_DEPTH."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise MalformedActivity("body is not JSON") from None
    if not isinstance(document, dict):
        raise MalformedActivity("body is not a JSON object")
    # Each level of nesting opens with a bracket, so a body with few brackets (the usual case) cannot be
    # too deep; brackets inside strings only make this count larger, never smaller.
    if body.count(b"{") + body.count(b"[") > MAX_JSON_DEPTH and exceeds_depth(document, MAX_JSON_DEPTH):
        raise MalformedActivity(f"JSON nested deeper than {MAX_JSON_DEPTH}")
    return document


def peek_json(body: bytes) -> dict[str, Any] | None:
    """The body as a JSON object if it is one, else None (never raises)."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return document if isinstance(document, dict) else None


@dataclass(slots=True)
class ActivityIdentity:
    """Who claims to have done what: the activity's id, type and actor."""

    activity_id: str
    activity_type: str
    actor_uri: str


def identify(activity: dict[str, Any]) -> ActivityIdentity:
    """The id, type and actor of an activity; MalformedActivity when one is missing."""
    activity_id = activity.get("id")
    activity_type = activity.get("type")
    actor_uri = id_of(activity.get("actor"))
    if not isinstance(activity_id, str) or origin_of(activity_id) is None or len(activity_id) > 2048:
        raise MalformedActivity("activity has no http(s) id")
    if not isinstance(activity_type, str):
        raise MalformedActivity("activity has no type")
    if actor_uri is None or origin_of(actor_uri) is None:
        raise MalformedActivity("activity has no actor")
    return ActivityIdentity(activity_id, activity_type, actor_uri)
