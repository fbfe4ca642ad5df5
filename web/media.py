"""`/media/<id>_<secret>/{original,small}.<ext>`: the files of local uploads (see storage.media), and
`/media/emojis/<id>_<secret>/{original.<ext>,static.png}`: those of local custom emojis (storage.emoji_files).

The request path is only parsed, never joined to a filesystem path: the row is loaded by id and the file
opened from the path Plein stored. Responses cannot be turned into anything but an image by a browser
(`nosniff`, a CSP that allows nothing), and never change, so they are cached for a year.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

from storage.context import Context
from storage.custom_emojis import emoji_by_id
from storage.emoji_files import emoji_file_for, emoji_root, parse_emoji_path
from storage.media import media_root, parse_stored_path, stored_file_for
from storage.models import MediaAttachment, Status

FILE_HEADERS = {
    "Cache-Control": "public, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    # Public files: web clients may read them (blurhash, canvas) from any origin.
    "Access-Control-Allow-Origin": "*",
}


def _not_found() -> Response:
    return PlainTextResponse("Not found", status_code=404, headers={"X-Content-Type-Options": "nosniff"})


async def media_file(request: Request) -> Response:
    requested = parse_stored_path(f"{request.path_params['folder']}/{request.path_params['name']}")
    if requested is None:
        return _not_found()
    ctx: Context = request.state.ctx
    async with ctx.db.read() as session:
        media = await session.get(MediaAttachment, requested.media_id)
        status = await session.get(Status, media.status_id) if media and media.status_id else None
    if status is not None and status.deleted_at is not None:
        return _not_found()  # withdrawn with its status, even before the media job has moved the files
    root = media_root(ctx.settings.server.data_dir)
    path = stored_file_for(root, media, requested) if media is not None else None
    if media is None or path is None or not path.is_file():
        return _not_found()
    return FileResponse(
        path, media_type=media.content_type or "application/octet-stream", headers=FILE_HEADERS
    )


async def emoji_file(request: Request) -> Response:
    requested = parse_emoji_path(f"{request.path_params['folder']}/{request.path_params['name']}")
    if requested is None:
        return _not_found()
    ctx: Context = request.state.ctx
    async with ctx.db.read() as session:
        emoji = await emoji_by_id(session, requested.emoji_id)
    root = emoji_root(ctx.settings.server.data_dir)
    found = emoji_file_for(root, emoji, requested) if emoji is not None and emoji.domain is None else None
    if found is None or not found[0].is_file():
        return _not_found()
    path, content_type = found
    return FileResponse(path, media_type=content_type, headers=FILE_HEADERS)


routes = [
    Route("/media/emojis/{folder}/{name}", emoji_file, methods=["GET", "HEAD"]),
    Route("/media/{folder}/{name}", media_file, methods=["GET", "HEAD"]),
]
