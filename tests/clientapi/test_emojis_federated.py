"""Custom emojis between two live `plein serve` processes, read with Mastodon.py: an emoji added with the
CLI on the first server, used in a post and a display name there, reaches the second server's users with
its `emojis`, pointing at the first server's image; the same shortcode on the second server stays its own."""

from __future__ import annotations

from pathlib import Path

import httpx
from test_custom_emojis import png_bytes
from test_mastodon_py import _eventually, _log_in, in_thread, two_servers

from support.instance import PleinProcess

__all__ = ["two_servers"]  # the fixture, shared with the tier-1 flow


async def test_emojis_federate_with_their_server(
    two_servers: tuple[PleinProcess, PleinProcess], tmp_path: Path
) -> None:
    first, second = two_servers
    for server, colour in ((first, (200, 0, 0, 255)), (second, (0, 0, 200, 255))):
        image = tmp_path / f"{server.settings.server.listen_port}.png"
        image.write_bytes(png_bytes(colour=colour))
        server.cli("emoji", "add", "blobcat", str(image))
    alice = await _log_in(first, "alice")
    rosa = await _log_in(second, "rosa")
    await in_thread(alice.account_update_credentials, display_name="Alice :blobcat:")

    address = f"alice@{first.settings.domain}"
    found = await in_thread(rosa.search, f"@{address}", resolve=True)
    (remote_alice,) = found.accounts
    assert [emoji.shortcode for emoji in remote_alice.emojis] == ["blobcat"]
    assert remote_alice.emojis[0].url.startswith(f"{first.base_url}/media/emojis/")
    await in_thread(rosa.account_follow, remote_alice.id)
    await _eventually(
        lambda: rosa.account_relationships(remote_alice.id)[0].following, "alice accepts rosa's follow"
    )

    post = await in_thread(alice.status_post, "A :blobcat: for the second ministry")
    (arrived,) = await _eventually(
        lambda: [s for s in rosa.timeline_home() if s.uri == post.uri], "alice's post in rosa's home"
    )
    assert [(emoji.shortcode, emoji.url) for emoji in arrived.emojis] == [("blobcat", post.emojis[0].url)]
    assert arrived.account.emojis[0].url == post.emojis[0].url
    async with httpx.AsyncClient() as http:
        image = await http.get(arrived.emojis[0].url)
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"

    own = await in_thread(rosa.status_post, "and one :blobcat: of our own")
    assert own.emojis[0].url.startswith(f"{second.base_url}/media/emojis/")
    assert own.emojis[0].url != post.emojis[0].url
