"""Uploaded images, for the client API and the web pages alike: cleaned (`storage.images.process_image`),
their files written, their row saved — or the files removed again when the row cannot be."""

from __future__ import annotations

import functools

import anyio.to_thread

from outbox.errors import Unprocessable
from storage.context import Context
from storage.images import ImageRejected, process_image
from storage.media import (
    StoredImage,
    add_image_row,
    media_root,
    new_media_id,
    remove_media_files,
    write_media_files,
)
from storage.models import MediaAttachment


async def store_image(
    ctx: Context, data: bytes, *, field: str = "file", fill: tuple[int, int] | None = None
) -> StoredImage:
    """Clean an uploaded image (422 when it is not one we accept) and write its files; the caller saves its
    row, or calls `discard_image` when it cannot."""
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


async def upload_image(
    ctx: Context,
    account_id: int,
    data: bytes,
    *,
    description: str | None,
    focus: tuple[float, float] | None = None,
    field: str = "file",
) -> MediaAttachment:
    """An uploaded image of `account_id`, waiting for a status to take it."""
    stored = await store_image(ctx, data, field=field)
    try:
        async with ctx.db.transaction() as session:
            return add_image_row(
                session,
                media_id=stored.media_id,
                account_id=account_id,
                file_path=stored.file_path,
                image=stored.image,
                description=description,
                focus=focus,
            )
    except BaseException:
        await discard_image(ctx, stored)
        raise
