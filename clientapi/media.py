"""`/api/v1/media` and `/api/v2/media`: upload an image, then read, describe or drop it until a status
takes it (`media_ids[]` of `POST /api/v1/statuses`). Images are processed while the client waits (as
Mastodon does for images since 4.0), so both versions answer 200 with the finished attachment."""

from __future__ import annotations

import math

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clientapi.auth import require_auth
from clientapi.entities.media import media_to_entity
from clientapi.errors import NotFound, Unprocessable, ValidationCode
from clientapi.params import Params, parse_id, read_params
from clientapi.responses import api_response
from outbox.uploads import upload_image
from storage.context import Context
from storage.media import media_root, owned_media, remove_media_files, update_media_meta

SCOPE = "write:media"  # Mastodon asks for it on every media endpoint, reading included
MAX_DESCRIPTION = 1500  # `description_limit` of /api/v2/instance


def _ctx(request: Request) -> Context:
    return request.state.ctx  # type: ignore[no-any-return]


def _description(params: Params) -> str | None:
    description = params.get_str("description")
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise Unprocessable(
            f"Validation failed: description is too long (maximum is {MAX_DESCRIPTION})",
            field="description",
            code=ValidationCode.TOO_LONG,
        )
    return description


def _focus(params: Params) -> tuple[float, float] | None:
    """`focus=x,y` with both in -1.0..1.0 (the focal point clients use to crop previews)."""
    text = params.get_str("focus")
    if not text:
        return None
    parts = text.split(",")
    try:
        x, y = (float(part) for part in parts) if len(parts) == 2 else (math.nan, math.nan)
    except ValueError:
        x = y = math.nan
    if not (-1.0 <= x <= 1.0 and -1.0 <= y <= 1.0):  # NaN fails both comparisons
        raise Unprocessable(
            "Validation failed: focus must be two numbers between -1 and 1, as x,y", field="focus"
        )
    return (x, y)


async def upload_media(request: Request) -> Response:
    auth = await require_auth(request, SCOPE)
    assert auth.account is not None
    ctx = _ctx(request)
    params = await read_params(request)
    upload = params.get_file("file")
    if upload is None or not upload.data:
        raise Unprocessable("Validation failed: File can't be blank", field="file", code=ValidationCode.BLANK)
    description, focus = _description(params), _focus(params)
    media = await upload_image(ctx, auth.account.id, upload.data, description=description, focus=focus)
    return api_response(media_to_entity(ctx, media))


def _media_id(request: Request) -> int:
    try:
        return parse_id(request.path_params["media_id"], "id")
    except Unprocessable as error:
        raise NotFound() from error


async def get_media(request: Request) -> Response:
    auth = await require_auth(request, SCOPE)
    assert auth.account is not None
    ctx = _ctx(request)
    async with ctx.db.read() as session:
        media = await owned_media(session, auth.account.id, _media_id(request))
    if media is None:  # someone else's, attached to a status, or unknown: all look the same
        raise NotFound()
    return api_response(media_to_entity(ctx, media))


async def update_media(request: Request) -> Response:
    auth = await require_auth(request, SCOPE)
    assert auth.account is not None
    params = await read_params(request)
    description, focus = _description(params), _focus(params)
    ctx = _ctx(request)
    async with ctx.db.transaction() as session:
        media = await owned_media(session, auth.account.id, _media_id(request))
        if media is None:
            raise NotFound()
        update_media_meta(media, description=description, focus=focus)
    return api_response(media_to_entity(ctx, media))


async def delete_media(request: Request) -> Response:
    auth = await require_auth(request, SCOPE)
    assert auth.account is not None
    ctx = _ctx(request)
    async with ctx.db.transaction() as session:
        media = await owned_media(session, auth.account.id, _media_id(request))
        if media is None:
            raise NotFound()
        entity, file_path = media_to_entity(ctx, media), media.file_path
        await session.delete(media)
    if file_path:
        await anyio.to_thread.run_sync(
            remove_media_files, media_root(ctx.settings.server.data_dir), file_path
        )
    return api_response(entity)


UPLOAD_PATHS = ("/api/v1/media", "/api/v2/media")  # bodies up to the media limit (`plein.limits`)

routes = [
    *(Route(path, upload_media, methods=["POST"]) for path in UPLOAD_PATHS),
    Route("/api/v1/media/{media_id}", get_media, methods=["GET"]),
    Route("/api/v1/media/{media_id}", update_media, methods=["PUT"]),
    Route("/api/v1/media/{media_id}", delete_media, methods=["DELETE"]),
]
