"""`plein archive export` and `plein archive verify`: the public-records packages (archive.public_records)."""

from __future__ import annotations

import argparse
from pathlib import Path

from archive.bag import verify_bag
from archive.public_records import ArchiveError, export_public_records, period_of
from plein.admin import AdminError
from storage.context import Context


async def export_command(ctx: Context, args: argparse.Namespace) -> int:
    out = Path(args.out)
    try:
        summary = await export_public_records(
            ctx, out, username=args.account, period=period_of(args.since, args.until)
        )
    except ArchiveError as error:
        raise AdminError(str(error)) from error
    print(
        f"wrote {out}: {summary.accounts} account(s), {summary.activities} activities, {summary.received} "
        f"received, {summary.media_files} media file(s), {summary.payload_bytes} bytes"
    )
    return 0


def verify_command(args: argparse.Namespace) -> int:
    folder = Path(args.folder)
    problems = verify_bag(folder)
    for problem in problems:
        print(f"{folder}: {problem}")
    if problems:
        return 1
    print(f"{folder}: complete, every checksum matches")
    return 0
