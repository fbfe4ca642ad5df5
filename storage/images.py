"""Uploaded images made safe to publish: the real type sniffed from the bytes, every metadata block (EXIF
with a phone's GPS position, XMP, comments) dropped by re-encoding the pixels, a small preview, the
dimensions and a blurhash. Pure CPU work on bytes: no files, no database (run it in a thread).

    ImageRejected          the bytes are not an image we accept (→ 422 in the client API)
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import blurhash
from PIL import Image, ImageOps, ImageSequence

PREVIEW_MAX_PIXELS = 400  # longest side of the small preview
BLURHASH_SOURCE_PIXELS = 64  # blurhash is computed on a tiny copy: its output has 4×4 components anyway
BLURHASH_COMPONENTS = (4, 4)
MAX_IMAGE_PIXELS = 7680 * 4320  # `image_matrix_limit` announced by /api/v2/instance
# All frames of an animation together hold at most as many pixels as one still at the limit: every decoded
# frame (at most 4 bytes a pixel) is kept until the re-encode, so this bounds the time and memory of one
# upload to a large still's (four 7680×4320 frames in a 99 kB GIF took 5.6 s and 1.3 GiB before).
MAX_ANIMATION_PIXELS = MAX_IMAGE_PIXELS
MAX_FRAMES = 1000  # and a GIF of many tiny frames costs a step per frame even to count
# Info keys worth keeping through the re-encode: none of them can carry personal data.
KEPT_INFO = ("icc_profile", "transparency", "duration", "loop", "background")


@dataclass(frozen=True)
class ImageFormat:
    """One accepted image format: its Pillow name, MIME type and file extension."""

    pillow_name: str
    content_type: str
    extension: str


JPEG = ImageFormat("JPEG", "image/jpeg", "jpg")
PNG = ImageFormat("PNG", "image/png", "png")
GIF = ImageFormat("GIF", "image/gif", "gif")
WEBP = ImageFormat("WEBP", "image/webp", "webp")
ACCEPTED_FORMATS = (JPEG, PNG, GIF, WEBP)


class ImageRejected(ValueError):
    """The upload is not an image we accept; the message says why, for the client."""


@dataclass(frozen=True)
class ProcessedImage:
    """A cleaned image ready to store: both renditions' bytes and what the MediaAttachment entity shows."""

    image_format: ImageFormat
    original: bytes
    small: bytes
    width: int
    height: int
    small_width: int
    small_height: int
    blurhash: str | None


def sniff_format(data: bytes) -> ImageFormat | None:
    """The accepted format whose magic number `data` starts with; the filename and the Content-Type the
    client sent are never trusted."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    return None


def gif_frame_count(data: bytes, stop_after: int) -> int:
    """The frames of a GIF, counted from its block structure without decoding anything, and no further
    than `stop_after` + 1 (Pillow's `n_frames` walks every frame in Python, however many there are)."""
    if len(data) < 13:
        return 0
    position = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)  # the global colour table
    frames = 0
    while position < len(data) and frames <= stop_after:
        block = data[position]
        if block == 0x3B:  # trailer
            break
        if block == 0x21:  # extension: introducer, label, then sub-blocks
            position += 2
        elif block == 0x2C:  # image: descriptor, local colour table, LZW code size, then sub-blocks
            frames += 1
            packed = data[position + 9] if position + 9 < len(data) else 0
            position += 10 + (3 << ((packed & 7) + 1) if packed & 0x80 else 0) + 1
        else:  # Pillow skips stray bytes one by one, and so does this count
            position += 1
            continue
        while position < len(data) and data[position]:
            position += data[position] + 1
        position += 1
    return frames


def _open(data: bytes, image_format: ImageFormat) -> tuple[Image.Image, int]:
    """The opened image and its number of frames, both within the limits (nothing is decoded yet)."""
    try:
        # Only the sniffed decoder may run: Pillow never guesses among its many other formats.
        image = Image.open(io.BytesIO(data), formats=[image_format.pillow_name])
    except Exception as error:  # decoders of hostile bytes fail in many ways; each is a refusal, not a 500
        raise ImageRejected("Validation failed: file is not a readable image") from error
    width, height = image.size
    if width < 1 or height < 1 or width * height > MAX_IMAGE_PIXELS:
        raise ImageRejected(f"Validation failed: image is larger than {MAX_IMAGE_PIXELS} pixels")
    if image_format is GIF:
        frames = gif_frame_count(data, MAX_FRAMES)
    else:
        frames = getattr(image, "n_frames", 1)  # WebP and APNG say it in a header
    if frames > MAX_FRAMES or width * height * frames > MAX_ANIMATION_PIXELS:
        raise ImageRejected(
            f"Validation failed: the animation has more than {MAX_ANIMATION_PIXELS} pixels in all its frames"
            f" or more than {MAX_FRAMES} frames"
        )
    return image, max(frames, 1)


def _clean_copy(frame: Image.Image, image_format: ImageFormat) -> Image.Image:
    """The pixels of `frame` in a fresh image that carries only harmless info keys."""
    if image_format is JPEG and frame.mode not in ("RGB", "L"):
        frame = frame.convert("RGB")  # CMYK and friends: browsers render RGB reliably
    elif image_format is WEBP and frame.mode not in ("RGB", "RGBA"):
        frame = frame.convert("RGBA")
    clean = frame.copy()
    clean.info = {key: frame.info[key] for key in KEPT_INFO if key in frame.info}
    return clean


def _encode(frames: list[Image.Image], image_format: ImageFormat) -> bytes:
    output = io.BytesIO()
    options: dict[str, Any] = {"format": image_format.pillow_name}
    first = frames[0]
    if "icc_profile" in first.info:
        options["icc_profile"] = first.info["icc_profile"]  # colours, not personal data
    if image_format is JPEG:
        options.update(quality=90, optimize=True)
    elif image_format is WEBP:
        options.update(quality=90)
    if len(frames) > 1:
        options.update(save_all=True, append_images=frames[1:])
        for key in ("duration", "loop"):
            if key in first.info:
                options[key] = first.info[key]
    # No `exif=`, `pnginfo=`, `xmp=` or `comment=`: nothing but pixels (and the colour profile) is written.
    first.save(output, **options)
    return output.getvalue()


def _blurhash(image: Image.Image) -> str | None:
    tiny = image.convert("RGB")
    tiny.thumbnail((BLURHASH_SOURCE_PIXELS, BLURHASH_SOURCE_PIXELS))
    raw, width = tiny.tobytes(), tiny.width
    rows = [
        [list(raw[offset : offset + 3]) for offset in range(row_start, row_start + width * 3, 3)]
        for row_start in range(0, len(raw), width * 3)
    ]
    try:
        return str(blurhash.encode(rows, *BLURHASH_COMPONENTS))
    except Exception:  # a hint for clients, never a reason to refuse an upload
        return None


def _filled(frame: Image.Image, size: tuple[int, int]) -> Image.Image:
    """`frame` scaled and centre-cropped to exactly `size`, keeping its harmless info keys."""
    fitted = ImageOps.fit(frame, size, method=Image.Resampling.LANCZOS)
    fitted.info = dict(frame.info)
    return fitted


def process_image(
    data: bytes, *, fill: tuple[int, int] | None = None, fit_within: int | None = None
) -> ProcessedImage:
    """Check and clean an uploaded image: sniff its real format, apply and drop the EXIF orientation,
    re-encode without any metadata, make a preview of at most 400 px and a blurhash.

    With `fill` (a profile image: Mastodon's `400x400#` avatar and `1500x500#` header geometry), every frame
    is scaled and centre-cropped to exactly that size, and the "small" rendition is the first frame at that
    size: the still `avatar_static` / `header_static` of an animation. With `fit_within` (a preview card's
    image: Mastodon's `640x640>`), larger frames are scaled down to fit that square.
    Raises ImageRejected for anything that is not a JPEG, PNG, GIF or WebP image within the pixel limits."""
    image_format = sniff_format(data)
    if image_format is None:
        raise ImageRejected("Validation failed: file must be a JPEG, PNG, GIF or WebP image")
    image, frame_count = _open(data, image_format)
    try:
        if frame_count > 1:
            frames = []
            for index, frame in enumerate(ImageSequence.Iterator(image)):
                if index >= frame_count:  # Pillow found more frames than were counted and allowed
                    raise ImageRejected("Validation failed: the animation has more frames than it declares")
                frames.append(_clean_copy(frame, image_format))
        else:
            # Turn the pixels the way the EXIF orientation says, since the tag itself is about to go.
            frames = [_clean_copy(ImageOps.exif_transpose(image), image_format)]
        if fill is not None:
            frames = [_filled(frame, fill) for frame in frames]
        if fit_within is not None:
            for frame in frames:
                frame.thumbnail((fit_within, fit_within), Image.Resampling.LANCZOS)
        original = _encode(frames, image_format)
        preview = frames[0].copy()
        if fill is None:
            preview.thumbnail((PREVIEW_MAX_PIXELS, PREVIEW_MAX_PIXELS))
        small = _encode([preview], image_format)
        hash_text = _blurhash(preview)
    except ImageRejected:
        raise
    except Exception as error:  # see _open: a broken frame or EXIF block is the sender's problem
        raise ImageRejected("Validation failed: file is not a readable image") from error
    finally:
        image.close()
    return ProcessedImage(
        image_format=image_format,
        original=original,
        small=small,
        width=frames[0].width,
        height=frames[0].height,
        small_width=preview.width,
        small_height=preview.height,
        blurhash=hash_text,
    )


def first_frame_png(data: bytes) -> bytes:
    """The first frame of an image already cleaned by `process_image`, as a PNG: the still copy apps show
    when animations are off (a custom emoji's `static_url`)."""
    with Image.open(io.BytesIO(data)) as image:
        frame = image.convert("RGBA")
    output = io.BytesIO()
    frame.save(output, format="PNG")
    return output.getvalue()
