"""MediaAttachment and Tag entities (the small pieces a Status is made of)."""

from __future__ import annotations

from typing import Any

from clientapi.entities.common import id_str
from storage.context import Context
from storage.models import MediaAttachment, Tag
from storage.urls import LocalUrls

MEDIA_TYPES = frozenset({"image", "gifv", "video", "audio", "unknown"})


def media_url(ctx: Context, media: MediaAttachment) -> str | None:
    """Where the file is served: our copy if we stored one, else the remote original."""
    if media.file_path:
        return f"{ctx.base_url}/system/media/{media.file_path.lstrip('/')}"
    return media.remote_url


def media_to_entity(ctx: Context, media: MediaAttachment) -> dict[str, Any]:
    """The MediaAttachment entity."""
    url = media_url(ctx, media)
    meta = media.meta if isinstance(media.meta, dict) else {}
    return {
        "id": id_str(media.id),
        "type": media.media_type if media.media_type in MEDIA_TYPES else "unknown",
        "url": url,
        "preview_url": meta.get("preview_url") or url,
        "remote_url": media.remote_url,
        "meta": {key: value for key, value in meta.items() if key in ("original", "small", "focus")} or None,
        "description": media.description,
        "blurhash": media.blurhash,
    }


def status_tag_to_entity(urls: LocalUrls, name: str) -> dict[str, Any]:
    """The short tag object inside a Status ({name, url})."""
    return {"name": name, "url": urls.tag_page(name)}


def tag_to_entity(urls: LocalUrls, tag: Tag) -> dict[str, Any]:
    """The Tag entity. Usage history is not tracked yet, so it is an empty list."""
    return {
        "id": id_str(tag.id),
        "name": tag.name,
        "url": urls.tag_page(tag.name),
        "history": [],
        "following": False,
        "featuring": False,
    }
