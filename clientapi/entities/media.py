"""MediaAttachment entities and the short tag object (the small pieces a Status is made of)."""

from __future__ import annotations

from typing import Any

from clientapi.entities.common import id_str
from storage.context import Context
from storage.media import ORIGINAL, SMALL, media_file_url, preview_path
from storage.media_cache import is_cacheable, proxy_url
from storage.models import MediaAttachment
from storage.urls import LocalUrls

MEDIA_TYPES = frozenset({"image", "gifv", "video", "audio", "unknown"})
IMAGE_EXTENSIONS = frozenset({"jpg", "png", "gif", "webp"})


def _extension(file_path: str) -> str:
    return file_path.rpartition(".")[2]


def media_url(ctx: Context, media: MediaAttachment) -> str | None:
    """Where the file is served: our copy if we stored one; for a remote attachment Plein copies, our
    proxy URL until then (it fetches the copy when loaded, as Mastodon's media proxy); else (a type Plein
    does not copy) the remote file itself."""
    if media.file_path:
        return media_file_url(ctx.base_url, media.file_path)
    if media.remote_url and is_cacheable(media):
        return proxy_url(ctx.base_url, ctx.settings.secrets.secret_key, media.id, ORIGINAL)
    return media.remote_url


def _preview_url(ctx: Context, media: MediaAttachment) -> str | None:
    """An image's preview (ours, or the proxy's until we have a copy); none for a copied video or audio
    file (Plein decodes no video), the remote file for a type Plein does not copy."""
    if media.file_path:
        if _extension(media.file_path) in IMAGE_EXTENSIONS:
            return media_file_url(ctx.base_url, preview_path(media.file_path))
        return None
    if media.remote_url and is_cacheable(media):
        if media.media_type != "image":
            return None
        return proxy_url(ctx.base_url, ctx.settings.secrets.secret_key, media.id, SMALL)
    return media.remote_url


def _meta(meta: dict[str, Any]) -> dict[str, Any] | None:
    shown = {key: value for key, value in meta.items() if key in ("original", "small", "focus")}
    # Remote attachments keep the bare width/height their Document gave.
    width, height = meta.get("width"), meta.get("height")
    if "original" not in shown and isinstance(width, int) and isinstance(height, int) and width and height:
        shown["original"] = {
            "width": width,
            "height": height,
            "size": f"{width}x{height}",
            "aspect": width / height,
        }
    return shown or None


def media_to_entity(ctx: Context, media: MediaAttachment) -> dict[str, Any]:
    """The MediaAttachment entity. A remote attachment shows our copy (or proxy) as `url` and `preview_url`,
    and the remote server's file as `remote_url`."""
    meta = media.meta if isinstance(media.meta, dict) else {}
    return {
        "id": id_str(media.id),
        "type": media.media_type if media.media_type in MEDIA_TYPES else "unknown",
        "url": media_url(ctx, media),
        "preview_url": _preview_url(ctx, media),
        "remote_url": media.remote_url,
        "preview_remote_url": None,
        "text_url": None,
        "meta": _meta(meta),
        "description": media.description,
        "blurhash": media.blurhash,
    }


def status_tag_to_entity(urls: LocalUrls, name: str) -> dict[str, Any]:
    """The short tag object inside a Status ({name, url})."""
    return {"name": name, "url": urls.tag_page(name)}
