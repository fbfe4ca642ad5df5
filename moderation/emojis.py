"""The server's custom emojis, added and removed by an admin: each change one transaction with its audit
entry. The image goes through the pipeline of media uploads (storage.images: type sniffed from the bytes,
re-encoded without metadata) within Mastodon's limits for local emojis: 256 KiB, PNG, GIF or WebP."""

from __future__ import annotations

from dataclasses import dataclass

import anyio.to_thread

from apub.emojis import MAX_SHORTCODE, is_shortcode
from moderation.errors import ModerationError, NothingToUndo
from storage import custom_emojis
from storage.audit import add_audit_entry
from storage.context import Context
from storage.emoji_files import emoji_root, remove_emoji_files, write_emoji_files
from storage.ids import new_id
from storage.images import GIF, PNG, WEBP, ImageRejected, first_frame_png, process_image, sniff_format
from storage.models import CustomEmoji
from storage.urls import LocalUrls

MAX_EMOJI_BYTES = 256 * 1024  # Mastodon's limit on a local emoji's image
EMOJI_FORMATS = (PNG, GIF, WEBP)  # Mastodon's IMAGE_MIME_TYPES for custom emojis
MAX_CATEGORY = 64


@dataclass(frozen=True)
class CleanEmoji:
    """An emoji image ready to store: the re-encoded original, its first frame and its type."""

    original: bytes
    still: bytes
    extension: str
    content_type: str


def check_shortcode(shortcode: str) -> None:
    """Refuse a shortcode Mastodon would not accept."""
    if not is_shortcode(shortcode):
        raise ModerationError(
            f"shortcode {shortcode!r} must be 2 to {MAX_SHORTCODE} letters, digits or underscores (a-z, 0-9, _)"
        )


def clean_emoji_image(data: bytes) -> CleanEmoji:
    """Check and re-encode an emoji image (CPU work: run it in a thread); ModerationError when refused."""
    if len(data) > MAX_EMOJI_BYTES:
        raise ModerationError(f"the image is over 256 KiB: an emoji may have at most {MAX_EMOJI_BYTES} bytes")
    image_format = sniff_format(data)
    if image_format not in EMOJI_FORMATS:
        raise ModerationError("the file is not a PNG, GIF or WebP image")
    try:
        image = process_image(data)
        still = first_frame_png(image.original)
    except ImageRejected as error:
        raise ModerationError(f"the image was refused: {error}") from error
    return CleanEmoji(
        original=image.original,
        still=still,
        extension=image.image_format.extension,
        content_type=image.image_format.content_type,
    )


async def add_emoji(
    ctx: Context,
    shortcode: str,
    data: bytes,
    *,
    category: str | None = None,
    visible_in_picker: bool = True,
    actor: str,
) -> CustomEmoji:
    """A new local emoji from image bytes; nothing is stored when it is refused."""
    check_shortcode(shortcode)
    category = (category or "").strip() or None
    if category is not None and len(category) > MAX_CATEGORY:
        raise ModerationError(f"a category is at most {MAX_CATEGORY} characters")
    async with ctx.db.read() as session:
        if await custom_emojis.local_emoji(session, shortcode) is not None:
            raise ModerationError(f"there is already an emoji :{shortcode}:")
    clean = await anyio.to_thread.run_sync(clean_emoji_image, data)
    root = emoji_root(ctx.settings.server.data_dir)
    emoji_id = new_id()
    file_path = await anyio.to_thread.run_sync(
        write_emoji_files, root, emoji_id, clean.original, clean.extension, clean.still
    )
    try:
        async with ctx.db.transaction() as session:
            if await custom_emojis.local_emoji(session, shortcode) is not None:
                raise ModerationError(f"there is already an emoji :{shortcode}:")
            emoji = await custom_emojis.add_local_emoji(
                session,
                emoji_id=emoji_id,
                shortcode=shortcode,
                file_path=file_path,
                content_type=clean.content_type,
                category=category,
                visible_in_picker=visible_in_picker,
            )
            profiles = await custom_emojis.refresh_local_profiles(session, shortcode, LocalUrls(ctx.base_url))
            await add_audit_entry(
                session,
                actor=actor,
                action="emoji.add",
                target=f":{shortcode}:",
                details={
                    "id": str(emoji_id),
                    "category": category,
                    "visible_in_picker": visible_in_picker,
                    "content_type": clean.content_type,
                    "bytes": len(clean.original),
                    "profiles": profiles,
                },
            )
    except BaseException:
        await anyio.to_thread.run_sync(remove_emoji_files, root, file_path)
        raise
    return emoji


async def remove_emoji(ctx: Context, shortcode: str, *, actor: str) -> CustomEmoji:
    """Delete a local emoji and its files: posts and profiles using it show `:shortcode:` as text again."""
    async with ctx.db.transaction() as session:
        emoji = await custom_emojis.local_emoji(session, shortcode)
        if emoji is None:
            raise NothingToUndo(f"there is no emoji :{shortcode}:")
        await custom_emojis.delete_emoji(session, emoji)
        profiles = await custom_emojis.refresh_local_profiles(session, shortcode, LocalUrls(ctx.base_url))
        await add_audit_entry(
            session,
            actor=actor,
            action="emoji.remove",
            target=f":{shortcode}:",
            details={"id": str(emoji.id), "profiles": profiles},
        )
    if emoji.file_path:
        await anyio.to_thread.run_sync(
            remove_emoji_files, emoji_root(ctx.settings.server.data_dir), emoji.file_path
        )
    return emoji
