"""The image files of local custom emojis, beside the media uploads:

    <data_dir>/media/emojis/<id>_<secret>/original.<png|gif|webp>    the cleaned image (storage.images)
    <data_dir>/media/emojis/<id>_<secret>/static.png                 its first frame, for `static_url`

served at `{base_url}/media/emojis/…` (web/media). As with uploads, the request path is only parsed and
compared with the stored path of the row it names, never joined to a filesystem path.
"""

from __future__ import annotations

import hmac
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storage.ids import parse_id
from storage.media import media_file_url, media_root, write_file_folder

EMOJI_FOLDER = "emojis"
ORIGINAL = "original"
STATIC_NAME = "static.png"
_STORED_PATH = re.compile(r"^([0-9]{1,19})_([0-9a-f]{32})/(original\.(?:png|gif|webp)|static\.png)$")


@dataclass(frozen=True)
class EmojiPath:
    """An emoji file path taken apart: the row id, its folder and the file's name."""

    emoji_id: int
    folder: str
    name: str


def emoji_root(data_dir: Path) -> Path:
    """The folder holding the local emojis' files."""
    return media_root(data_dir) / EMOJI_FOLDER


def emoji_file_url(base_url: str, file_path: str) -> str:
    """The public URL of an emoji file (`file_path` relative to the emoji root)."""
    return media_file_url(base_url, f"{EMOJI_FOLDER}/{file_path}")


def static_path(file_path: str) -> str:
    """The still copy's path next to the original's."""
    return f"{file_path.rpartition('/')[0]}/{STATIC_NAME}"


def parse_emoji_path(path: str) -> EmojiPath | None:
    """Take a requested emoji path apart; None when it is not one Plein could have made."""
    match = _STORED_PATH.match(path)
    emoji_id = parse_id(match[1]) if match is not None else None
    if match is None or emoji_id is None:
        return None
    return EmojiPath(emoji_id=emoji_id, folder=f"{match[1]}_{match[2]}", name=match[3])


def emoji_file_for(root: Path, emoji: Any, requested: EmojiPath) -> tuple[Path, str] | None:
    """The file on disk and its content type for `requested`, when it names this local emoji's original
    or still copy (the secret compared in constant time); built from the row's stored path."""
    stored = parse_emoji_path(emoji.file_path) if emoji.file_path else None
    if stored is None or stored.emoji_id != emoji.id:
        return None
    if not hmac.compare_digest(stored.folder.encode(), requested.folder.encode()):
        return None
    if requested.name == STATIC_NAME:
        return root / static_path(emoji.file_path), "image/png"
    if requested.name != stored.name:
        return None
    return root / emoji.file_path, emoji.content_type or "application/octet-stream"


def write_emoji_files(root: Path, emoji_id: int, original: bytes, extension: str, still: bytes) -> str:
    """Write an emoji's two files into a new folder; returns the original's relative path.
    Blocking file I/O: call it in a thread."""
    name = f"{ORIGINAL}.{extension}"
    folder = write_file_folder(root, emoji_id, {name: original, STATIC_NAME: still})
    return f"{folder}/{name}"


def remove_emoji_files(root: Path, file_path: str) -> None:
    """Delete the folder of a local emoji (removed, or its row could not be saved)."""
    stored = parse_emoji_path(file_path)
    if stored is not None:
        shutil.rmtree(root / stored.folder, ignore_errors=True)
