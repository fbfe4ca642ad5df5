"""Media attachments of local accounts: the files in `<data_dir>/media/` and their `media_attachments` rows.

An upload lives in its own folder, named by the row id and a random secret:

    <data_dir>/media/<id>_<secret>/original.<ext>     the cleaned image (no EXIF, see storage.images)
    <data_dir>/media/<id>_<secret>/small.<ext>        the preview, at most 400 px

and is served at `{base_url}/media/<id>_<secret>/original.<ext>`. Files are public to whoever has the URL
(remote servers fetch them without signing, as from Mastodon); the 128-bit secret keeps the URLs of media in
followers-only posts from being guessed by counting ids. The row's `file_path` is the relative path of the
original; nothing a client sends is ever joined to a filesystem path.
"""

from __future__ import annotations

import hmac
import os
import re
import secrets
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.ids import new_id, parse_id
from storage.images import ProcessedImage
from storage.models import MediaAttachment

MEDIA_FOLDER = "media"
# Media rows of these types are an account's avatar or header (its `avatar_file` / `header_file`), not
# attachments: never listed, read or attached through the media API. Size: Mastodon's geometry of each.
PROFILE_IMAGE_SIZES = {"avatar": (400, 400), "header": (1500, 500)}
ORIGINAL = "original"
SMALL = "small"
# "<id>_<secret>/<variant>.<ext>": what a stored file_path (and a request for it) must look like.
# Videos and audio (copies of remote attachments, storage.media_cache) have an original only.
_STORED_PATH = re.compile(
    r"^([0-9]{1,19})_([0-9a-f]{32})/(original|small)\.(jpg|png|gif|webp|mp4|webm|mov|mp3|m4a|ogg|flac|wav|aac)$"
)


@dataclass(frozen=True)
class StoredPath:
    """A media file path taken apart: the row id it belongs to and which rendition it names."""

    media_id: int
    folder: str
    variant: str
    extension: str


@dataclass(frozen=True)
class StoredImage:
    """A cleaned image whose files are written, waiting for its row: the row id, the original's path."""

    media_id: int
    file_path: str
    image: ProcessedImage


def media_root(data_dir: Path) -> Path:
    """The folder holding every stored media file."""
    return data_dir / MEDIA_FOLDER


def media_file_url(base_url: str, file_path: str) -> str:
    """The public URL of a stored file (`file_path` relative to the media root)."""
    return f"{base_url}/{MEDIA_FOLDER}/{file_path.lstrip('/')}"


def preview_path(file_path: str) -> str:
    """The preview's path next to the original's: `…/original.png` → `…/small.png`."""
    folder, _, name = file_path.rpartition("/")
    extension = name.rpartition(".")[2]
    return f"{folder}/{SMALL}.{extension}"


def parse_stored_path(path: str) -> StoredPath | None:
    """Take a requested media path apart; None when it is not one Plein could have made."""
    match = _STORED_PATH.match(path)
    media_id = parse_id(match[1]) if match is not None else None
    if match is None or media_id is None:
        return None
    return StoredPath(
        media_id=media_id, folder=f"{match[1]}_{match[2]}", variant=match[3], extension=match[4]
    )


def stored_file_for(root: Path, media: MediaAttachment, requested: StoredPath) -> Path | None:
    """The file on disk for `requested` if it names this row's original or preview (the secret compared in
    constant time); the path is built from the row's stored `file_path`, never from the request."""
    if not media.file_path:
        return None
    stored = parse_stored_path(media.file_path)
    if stored is None or stored.media_id != media.id or stored.extension != requested.extension:
        return None
    if not hmac.compare_digest(stored.folder.encode(), requested.folder.encode()):
        return None
    relative = media.file_path if requested.variant == ORIGINAL else preview_path(media.file_path)
    return root / relative


def profile_image_urls(
    base_url: str, stored_file: str | None, remote_url: str | None
) -> tuple[str | None, str | None]:
    """(image, still image) URLs of an avatar or header: our stored copy when there is one (its still is the
    first frame of an animated GIF, as Mastodon's `avatar_static`), else the remote URL for both."""
    if stored_file:
        url = media_file_url(base_url, stored_file)
        still = media_file_url(base_url, preview_path(stored_file)) if stored_file.endswith(".gif") else url
        return url, still
    return remote_url, remote_url


def media_id_of(file_path: str) -> int | None:
    """The media row id a stored file path belongs to (None when it is not one Plein made)."""
    stored = parse_stored_path(file_path)
    return stored.media_id if stored is not None else None


def _write_atomically(path: Path, content: bytes) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(content)
    os.replace(partial, path)


def write_file_folder(root: Path, row_id: int, files: Mapping[str, bytes]) -> str:
    """Write `files` (name → content) into a new folder `<row_id>_<secret>` under `root`; returns the
    folder's name. Blocking file I/O: call it in a thread."""
    folder = f"{row_id}_{secrets.token_hex(16)}"
    (root / folder).mkdir(parents=True, exist_ok=False)
    for name, content in files.items():
        _write_atomically(root / folder / name, content)
    return folder


def write_media_files(root: Path, media_id: int, image: ProcessedImage) -> str:
    """Write both renditions into a new folder for `media_id`; returns the original's relative path.
    Blocking file I/O: call it in a thread."""
    extension = image.image_format.extension
    original = f"{ORIGINAL}.{extension}"
    folder = write_file_folder(
        root, media_id, {original: image.original, f"{SMALL}.{extension}": image.small}
    )
    return f"{folder}/{original}"


def remove_media_files(root: Path, file_path: str) -> None:
    """Delete the folder of a stored upload (when its row could not be saved, or is deleted)."""
    stored = parse_stored_path(file_path)
    if stored is not None:
        shutil.rmtree(root / stored.folder, ignore_errors=True)


def _details(width: int, height: int) -> dict[str, Any]:
    return {"width": width, "height": height, "size": f"{width}x{height}", "aspect": width / height}


def image_meta(image: ProcessedImage, focus: tuple[float, float] | None) -> dict[str, Any]:
    """The `meta` column of an uploaded image, shaped as the MediaAttachment entity shows it."""
    meta: dict[str, Any] = {
        "original": _details(image.width, image.height),
        "small": _details(image.small_width, image.small_height),
    }
    if focus is not None:
        meta["focus"] = {"x": focus[0], "y": focus[1]}
    return meta


def new_media_id() -> int:
    """The id of an upload, chosen before its files are written (the folder name starts with it)."""
    return new_id()


def add_image_row(
    session: AsyncSession,
    *,
    media_id: int,
    account_id: int,
    file_path: str,
    image: ProcessedImage,
    description: str | None,
    focus: tuple[float, float] | None,
    media_type: str = "image",
) -> MediaAttachment:
    """Insert the row of an uploaded image whose files are already written (not attached to a status);
    `media_type` "avatar" or "header" for a profile image."""
    media = MediaAttachment(
        id=media_id,
        account_id=account_id,
        status_id=None,
        media_type=media_type,
        file_path=file_path,
        content_type=image.image_format.content_type,
        description=description,
        blurhash=image.blurhash,
        meta=image_meta(image, focus),
    )
    session.add(media)
    return media


async def owned_media(
    session: AsyncSession, account_id: int, media_id: int, *, unattached: bool = True
) -> MediaAttachment | None:
    """The account's media row `media_id` (by default only while not attached to a status), else None."""
    media = await session.get(MediaAttachment, media_id)
    if media is None or media.account_id != account_id or media.media_type in PROFILE_IMAGE_SIZES:
        return None
    if unattached and media.status_id is not None:
        return None
    return media


def update_media_meta(
    media: MediaAttachment, *, description: str | None, focus: tuple[float, float] | None
) -> None:
    """Change the description and/or focal point of a row (None leaves a field as it is)."""
    if description is not None:
        media.description = description or None
    if focus is not None:
        meta: Mapping[str, Any] = media.meta if isinstance(media.meta, dict) else {}
        # A new dict: the JSON column only notices assignment, not in-place mutation.
        media.meta = {**meta, "focus": {"x": focus[0], "y": focus[1]}}
