"""`plein media prune`: delete our copies of remote attachments past their retention (storage.media_cache),
as Mastodon's `tootctl media remove`; what a viewer asks for again is fetched again."""

from __future__ import annotations

import argparse

import anyio.to_thread

from storage.context import Context
from storage.media_cache import prune_remote_media, remove_pruned_files
from storage.types import utcnow


class MediaCommandError(Exception):
    """A `plein media` command that cannot run as asked (printed as one line, exit status 2)."""


async def media_command(ctx: Context, args: argparse.Namespace) -> int:
    """Run `plein media ACTION`."""
    days = args.days if args.days is not None else ctx.settings.media.remote_cache_days
    if args.days is None and days == 0:
        raise MediaCommandError("media.remote_cache_days is 0 (keep copies): give --days N")
    data_dir = ctx.settings.server.data_dir
    async with ctx.db.transaction() as session:
        outcome = await prune_remote_media(
            session, data_dir=data_dir, now=utcnow(), days=days, dry_run=args.dry_run
        )
    await anyio.to_thread.run_sync(remove_pruned_files, data_dir, outcome.paths)
    verb = "would remove" if args.dry_run else "removed"
    print(
        f"{verb} {outcome.copies} cached remote file(s), {outcome.bytes} bytes, fetched over {days} day(s) ago"
    )
    return 0
