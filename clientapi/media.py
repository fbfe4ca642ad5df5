"""`/api/v1/media` and `/api/v2/media`: upload an image, then read, describe or drop it until a status
takes it (`media_ids[]` of `POST /api/v1/statuses`). Images are processed while the client waits (as
Mastodon does for images since 4.0), so both versions answer 200 with the finished attachment."""

from __future__ import annotations

import functools
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
from storage.context import Context
from storage.images import ImageRejected, process_image
from storage.media import (
    StoredImage,
    add_image_row,
    media_root,
    new_media_id,
    owned_media,
    remove_media_files,
    update_media_meta,
    write_media_files,
)

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
    stored = await store_image(ctx, upload.data)
    try:
        async with ctx.db.transaction() as session:
            media = add_image_row(
                session,
                media_id=stored.media_id,
                account_id=auth.account.id,
                file_path=stored.file_path,
                image=stored.image,
                description=description,
                focus=focus,
            )
    except BaseException:
        await discard_image(ctx, stored)
        raise
    return api_response(media_to_entity(ctx, media))


async def store_image(
    ctx: Context, data: bytes, *, field: str = "file", fill: tuple[int, int] | None = None
) -> StoredImage:
    """Clean an uploaded image (`storage.images.process_image`, 422 when it is not one we accept) and write
    its files; the caller saves its row, or calls `discard_image` when it cannot."""
    try:
        # Decoding and re-encoding is CPU work: keep the event loop free for other requests.
        image = await anyio.to_thread.run_sync(functools.partial(process_image, data, fill=fill))
    except ImageRejected as error:
        raise Unprocessable(str(error), field=field) from error
    media_id = new_media_id()
    root = media_root(ctx.settings.server.data_dir)
    file_path = await anyio.to_thread.run_sync(write_media_files, root, media_id, image)
    return StoredImage(media_id=media_id, file_path=file_path, image=image)


async def discard_image(ctx: Context, stored: StoredImage) -> None:
    """Remove the files of an image whose row was not saved."""
    await anyio.to_thread.run_sync(
        remove_media_files, media_root(ctx.settings.server.data_dir), stored.file_path
    )


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
