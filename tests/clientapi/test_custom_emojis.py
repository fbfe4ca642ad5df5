"""Custom emojis: `plein emoji add/list/remove` (audited, refusing bad input with nothing stored), the
files served from the media path, and `GET /api/v1/custom_emojis` through Mastodon.py."""

from __future__ import annotations

import asyncio
import io
import os
from pathlib import Path

import pytest
from checked import call
from mastodon import Mastodon
from PIL import Image
from sqlalchemy import func, select

import moderation
from storage.emoji_files import emoji_root
from storage.models import AuditEntry, CustomEmoji
from support.instance import RunningInstance, run_plein, write_config


def png_bytes(size: int = 32, colour: tuple[int, int, int, int] = (200, 30, 30, 255)) -> bytes:
    output = io.BytesIO()
    Image.new("RGBA", (size, size), colour).save(output, format="PNG")
    return output.getvalue()


def gif_bytes() -> bytes:
    frames = [Image.new("RGB", (16, 16), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    output = io.BytesIO()
    frames[0].save(output, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return output.getvalue()


def noisy_png() -> bytes:
    """A PNG well over 256 KiB (noise does not compress)."""
    output = io.BytesIO()
    Image.frombytes("RGBA", (400, 400), os.urandom(400 * 400 * 4)).save(output, format="PNG")
    return output.getvalue()


def jpeg_bytes() -> bytes:
    output = io.BytesIO()
    Image.new("RGB", (16, 16), (1, 2, 3)).save(output, format="JPEG")
    return output.getvalue()


async def test_custom_emojis_through_mastodon_py(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    assert instance.ctx is not None
    await moderation.add_emoji(instance.ctx, "blobcat", png_bytes(), category="Blobs", actor="test")
    await moderation.add_emoji(instance.ctx, "party_parrot", gif_bytes(), actor="test")
    await moderation.add_emoji(instance.ctx, "secret", png_bytes(), visible_in_picker=False, actor="test")

    client = Mastodon(api_base_url=instance.base_url)
    emojis = await asyncio.to_thread(client.custom_emojis)
    assert [(emoji.shortcode, emoji.category, emoji.visible_in_picker) for emoji in emojis] == [
        ("blobcat", "Blobs", True),
        ("party_parrot", None, True),
    ]  # the hidden one is usable in text but not offered, as in Mastodon
    async with instance.client() as http:
        listed = await call(http, "GET", "/api/v1/custom_emojis")
        by_code = {emoji["shortcode"]: emoji for emoji in listed}
        parrot = by_code["party_parrot"]
        assert parrot["url"].startswith(f"{instance.base_url}/media/emojis/")
        assert parrot["url"].endswith("/original.gif") and parrot["static_url"].endswith("/static.png")
        original = await http.get(parrot["url"])
        assert original.status_code == 200 and original.headers["content-type"] == "image/gif"
        assert original.headers["x-content-type-options"] == "nosniff"
        animated = Image.open(io.BytesIO(original.content))
        assert animated.n_frames == 3  # re-encoded, still animated
        still = await http.get(parrot["static_url"])
        assert still.status_code == 200 and still.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(still.content)).format == "PNG"
        # A guessed secret or another emoji's folder finds nothing.
        folder = parrot["url"].split("/media/emojis/")[1].split("/")[0]
        emoji_id = folder.split("_")[0]
        assert (await http.get(f"/media/emojis/{emoji_id}_{'0' * 32}/original.gif")).status_code == 404
        blob_folder = by_code["blobcat"]["url"].split("/media/emojis/")[1].split("/")[0]
        assert (await http.get(f"/media/emojis/{blob_folder}/original.gif")).status_code == 404
        assert (await http.get(f"/media/emojis/{folder}/../../plein.toml")).status_code == 404

    removed = await moderation.remove_emoji(instance.ctx, "party_parrot", actor="test")
    assert removed.shortcode == "party_parrot"
    assert not (emoji_root(instance.ctx.settings.server.data_dir) / folder).exists()
    emojis = await asyncio.to_thread(client.custom_emojis)
    assert [emoji.shortcode for emoji in emojis] == ["blobcat"]
    async with instance.client() as http:
        assert (await http.get(parrot["url"])).status_code == 404
    with pytest.raises(moderation.NothingToUndo):
        await moderation.remove_emoji(instance.ctx, "party_parrot", actor="test")


@pytest.mark.parametrize(
    ("shortcode", "data", "message"),
    [
        ("a", png_bytes(), "must be 2 to 128 letters"),
        ("bad-code", png_bytes(), "must be 2 to 128 letters"),
        ("x" * 129, png_bytes(), "must be 2 to 128 letters"),
        ("big", noisy_png(), "an emoji may have at most 262144 bytes"),
        ("text", b"not an image at all", "not a PNG, GIF or WebP image"),
        ("photo", jpeg_bytes(), "not a PNG, GIF or WebP image"),
        ("broken", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "the image was refused"),
    ],
)
async def test_bad_emojis_are_refused_and_nothing_is_stored(
    instance: RunningInstance, shortcode: str, data: bytes, message: str
) -> None:
    assert instance.ctx is not None
    with pytest.raises(moderation.ModerationError, match=message):
        await moderation.add_emoji(instance.ctx, shortcode, data, actor="test")
    async with instance.ctx.db.read() as session:
        assert (await session.execute(select(func.count()).select_from(CustomEmoji))).scalar_one() == 0
        assert (await session.execute(select(func.count()).select_from(AuditEntry))).scalar_one() == 0
    root = emoji_root(instance.ctx.settings.server.data_dir)
    assert not root.exists() or not any(root.iterdir())


async def test_a_shortcode_is_added_once(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    await moderation.add_emoji(instance.ctx, "blobcat", png_bytes(), actor="test")
    with pytest.raises(moderation.ModerationError, match="already an emoji :blobcat:"):
        await moderation.add_emoji(instance.ctx, "blobcat", png_bytes(colour=(0, 0, 0, 255)), actor="test")
    root = emoji_root(instance.ctx.settings.server.data_dir)
    assert len(list(root.iterdir())) == 1


def test_emoji_cli_add_list_remove_and_refusals(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    data_dir = tmp_path / "data"
    (tmp_path / "blob.png").write_bytes(png_bytes())
    (tmp_path / "big.png").write_bytes(noisy_png())
    (tmp_path / "notes.txt").write_text("hello")
    assert run_plein(config, "migrate").returncode == 0

    added = run_plein(config, "emoji", "add", "blobcat", str(tmp_path / "blob.png"), "--category", "Blobs")
    assert added.returncode == 0 and added.stdout == ":blobcat: added\n", added.stderr
    hidden = run_plein(config, "emoji", "add", "shy", str(tmp_path / "blob.png"), "--hidden")
    assert hidden.returncode == 0, hidden.stderr
    listed = run_plein(config, "emoji", "list").stdout.splitlines()
    assert [line.split("\t")[:2] for line in listed] == [[":blobcat:", "Blobs"], [":shy:", "-"]]
    assert listed[1].endswith("\thidden") and "/media/emojis/" in listed[0]
    url_path = listed[0].split("\t")[2].removeprefix("http://127.0.0.1:9/media/")
    assert (data_dir / "media" / url_path).is_file()

    for arguments, message in [
        (("x-y", str(tmp_path / "blob.png")), "shortcode 'x-y' must be 2 to 128 letters"),
        (("big", str(tmp_path / "big.png")), "an emoji may have at most 262144 bytes"),
        (("notes", str(tmp_path / "notes.txt")), "not a PNG, GIF or WebP image"),
        (("gone", str(tmp_path / "missing.png")), "cannot read"),
        (("blobcat", str(tmp_path / "blob.png")), "already an emoji :blobcat:"),
    ]:
        refused = run_plein(config, "emoji", "add", *arguments)
        assert refused.returncode == 2 and message in refused.stderr, refused.stderr
    assert len(run_plein(config, "emoji", "list").stdout.splitlines()) == 2

    assert run_plein(config, "emoji", "remove", "blobcat").stdout == ":blobcat: removed\n"
    again = run_plein(config, "emoji", "remove", "blobcat")
    assert again.returncode == 2 and "there is no emoji :blobcat:" in again.stderr
    assert not (data_dir / "media" / url_path).exists()
    assert [line.split("\t")[0] for line in run_plein(config, "emoji", "list").stdout.splitlines()] == [
        ":shy:"
    ]
    audit = run_plein(config, "audit", "list").stdout
    assert audit.count("emoji.add") == 2 and audit.count("emoji.remove") == 1


async def test_custom_emojis_needs_no_token_but_checks_one_sent(instance: RunningInstance) -> None:
    async with instance.client() as http:
        assert await call(http, "GET", "/api/v1/custom_emojis") == []
        refused = await http.get("/api/v1/custom_emojis", headers={"Authorization": "Bearer nonsense"})
        assert refused.status_code == 401
