"""Importing what another server exported for an account: Mastodon's CSV files of follows, blocks, mutes
and domain blocks (the files `archive.account_export` writes too), applied through the same actions as the
API. Each line stands alone: one that names no reachable account is reported and the rest go on."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Literal

from apub.errors import InvalidHost
from apub.hosts import canonical_host
from outbox import actions
from outbox.errors import ActionError
from storage import mutes
from storage.context import Context
from storage.models import Account
from webfinger.resolve import find_account_by_acct

ImportKind = Literal["following", "blocks", "mutes", "domain_blocks"]
HEADERS = {"account address", "#domain"}  # the first cell of a header row, in Mastodon's exports
TRUE = {"true", "1", "yes"}


@dataclass
class ImportReport:
    done: int = 0
    failed: list[str] = field(default_factory=list)  # "line: why"


def _rows(text: str) -> list[list[str]]:
    rows = [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text)) if row and row[0].strip()]
    if rows and rows[0][0].lower() in HEADERS:
        rows = rows[1:]
    return rows


def _flag(row: list[str], index: int, default: bool) -> bool:
    return row[index].lower() in TRUE if len(row) > index and row[index] else default


async def import_csv(ctx: Context, account: Account, kind: ImportKind, text: str) -> ImportReport:
    """Apply each line of a Mastodon export of `kind` for `account`."""
    report = ImportReport()
    for row in _rows(text):
        address = row[0]
        try:
            if kind == "domain_blocks":
                await actions.block_domain(ctx, account, canonical_host(address))
            else:
                target = await find_account_by_acct(ctx, address, resolve=True)
                if target is None:
                    report.failed.append(f"{address}: not found")
                    continue
                if kind == "following":
                    await actions.follow(
                        ctx, account, target, reblogs=_flag(row, 1, True), notify=_flag(row, 2, False)
                    )
                elif kind == "blocks":
                    await actions.block(ctx, account, target)
                else:
                    async with ctx.db.transaction() as session:
                        await mutes.mute(
                            session,
                            account.id,
                            target.id,
                            notifications=_flag(row, 1, True),
                            duration_seconds=0,
                        )
        except (ActionError, InvalidHost) as error:
            report.failed.append(f"{address}: {error}")
            continue
        report.done += 1
    return report
