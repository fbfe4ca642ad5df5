"""`/media/<id>_<secret>/{original,small}.<ext>`: the files of local uploads and our copies of remote
attachments (see storage.media, storage.media_cache), `/media/emojis/<id>_<secret>/{original.<ext>,static.png}`:
those of local custom emojis (storage.emoji_files), and `/media_proxy/<id>_<key>/{original,small}`: a remote
attachment we hold no copy of yet, fetched and stored when asked for, then redirected to (Mastodon's media
proxy; webfinger.media_cache); `/media/cards/<id>_<secret>/{original,small}.<ext>`: preview cards' images
(storage.preview_cards).

The request path is only parsed, never joined to a filesystem path: the row is loaded by id and the file
opened from the path Plein stored. Responses cannot be turned into anything but an image by a browser
(`nosniff`, a CSP that allows nothing), and never change, so they are cached for a year.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from storage.context import Context
from storage.custom_emojis import emoji_by_id
from storage.emoji_files import emoji_file_for, emoji_root, parse_emoji_path
from storage.images import ACCEPTED_FORMATS
from storage.media import (
    ORIGINAL,
    media_file_url,
    media_root,
    parse_stored_path,
    preview_path,
    stored_file_for,
)
from storage.media_cache import PROXY_PATH, parse_proxy_path
from storage.models import MediaAttachment, PreviewCard, Status
from storage.preview_cards import card_file_for, card_root
from webfinger.media_cache import cache_attachment

FILE_HEADERS = {
    "Cache-Control": "public, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    # Public files: web clients may read them (blurhash, canvas) from any origin.
    "Access-Control-Allow-Origin": "*",
}


ACCEPTED_TYPES = {image_format.extension: image_format.content_type for image_format in ACCEPTED_FORMATS}


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


async def media_proxy(request: Request) -> Response:
    ctx: Context = request.state.ctx
    variant = request.path_params["variant"]
    media_id = parse_proxy_path(ctx.settings.secrets.secret_key, request.path_params["folder"], variant)
    media = await cache_attachment(ctx, media_id) if media_id is not None else None
    if media is None or media.file_path is None:
        return _not_found()  # never a redirect to the remote server: readers' addresses stay here
    if variant == ORIGINAL:
        target = media.file_path
    elif media.file_path.rpartition(".")[2] in ("jpg", "png", "gif", "webp"):
        target = preview_path(media.file_path)
    else:
        return _not_found()  # a video or audio copy has no preview
    return RedirectResponse(
        media_file_url(ctx.base_url, target),
        status_code=302,
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
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


async def card_file(request: Request) -> Response:
    requested = f"{request.path_params['folder']}/{request.path_params['name']}"
    stored = parse_stored_path(requested)
    if stored is None:
        return _not_found()
    ctx: Context = request.state.ctx
    async with ctx.db.read() as session:
        card = await session.get(PreviewCard, stored.media_id)
    root = card_root(ctx.settings.server.data_dir)
    path = card_file_for(root, card, requested) if card is not None else None
    if path is None or not path.is_file():
        return _not_found()
    content_type = ACCEPTED_TYPES.get(stored.extension, "application/octet-stream")
    return FileResponse(path, media_type=content_type, headers=FILE_HEADERS)


routes = [
    Route("/media/cards/{folder}/{name}", card_file, methods=["GET", "HEAD"]),
    Route("/media/emojis/{folder}/{name}", emoji_file, methods=["GET", "HEAD"]),
    Route("/media/{folder}/{name}", media_file, methods=["GET", "HEAD"]),
    Route(f"/{PROXY_PATH}/{{folder}}/{{variant}}", media_proxy, methods=["GET", "HEAD"]),
]
