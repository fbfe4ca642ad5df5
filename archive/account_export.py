"""One local account's data, for a data-subject request (AVG/GDPR art. 15 and 20) or a move elsewhere.

A zip file in the shape of Mastodon's own archive where there is one — `actor.json`, `outbox.json` (every
status and boost as ActivityStreams `Create` / `Announce`, oldest first), the attached `media/` files, and
Mastodon's CSV exports (`following_accounts.csv`, `blocked_accounts.csv`, `muted_accounts.csv`,
`blocked_domains.csv`, `bookmarks.csv`, `lists.csv`) — plus what Mastodon's archive leaves out but the law
asks for: `followers.csv` and `personal_data.json` (the login: e-mail, role, settings, authorised apps and
their tokens' use, failed logins under the account's name, reports the account filed). Secrets never leave:
no password hash, no token or its hash, no private key.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from apub.vocab import OBJECT_CONTEXT
from outbox.actors import account_to_actor
from outbox.render import boost_to_announce, load_note_parts, note_activity, status_to_note
from storage.accounts import ed25519_public_pem, local_account_by_username
from storage.context import Context
from storage.media import media_root
from storage.models import (
    Account,
    AccountDomainBlock,
    Block,
    Bookmark,
    Follow,
    List,
    ListAccount,
    LoginAttempt,
    MediaAttachment,
    Mute,
    OAuthApp,
    OAuthToken,
    Report,
    Status,
    User,
)
from storage.urls import LocalUrls


class ExportError(Exception):
    """The export cannot be made (no such local account)."""


@dataclass(frozen=True)
class ExportSummary:
    statuses: int
    media_files: int


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _address(account: Account, local_domain: str) -> str:
    return f"{account.username}@{account.domain or local_domain}"


def _csv(header: list[str], rows: list[list[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


async def _accounts_of(session: AsyncSession, statement: Any) -> list[Account]:
    return list((await session.execute(statement)).scalars())


async def _outbox(
    session: AsyncSession, ctx: Context, account: Account
) -> tuple[dict[str, Any], list[MediaAttachment]]:
    urls = LocalUrls(ctx.base_url)
    statuses = (
        await session.execute(
            select(Status)
            .where(Status.account_id == account.id, Status.deleted_at.is_(None))
            .order_by(Status.id)
        )
    ).scalars()
    items: list[dict[str, Any]] = []
    media: list[MediaAttachment] = []
    for status in statuses:
        if status.reblog_of_id is not None:
            original = await session.get(Status, status.reblog_of_id)
            if original is None or original.deleted_at is not None:
                continue
            original_author = await session.get(Account, original.account_id)
            assert original_author is not None
            items.append(
                {
                    key: value
                    for key, value in boost_to_announce(
                        status, original, account, original_author, f"{status.uri}/activity"
                    ).items()
                    if key != "@context"
                }
            )
            continue
        parts = await load_note_parts(session, status, account)
        media.extend(parts.media)
        note = status_to_note(parts, urls, ctx.domain, with_context=False)
        activity = note_activity("Create", f"{status.uri}/activity", note, published=status.created_at)
        items.append({key: value for key, value in activity.items() if key != "@context"})
    outbox = {
        "@context": OBJECT_CONTEXT,
        "id": account.outbox_url,
        "type": "OrderedCollection",
        "totalItems": len(items),
        "orderedItems": items,
    }
    return outbox, media


async def _personal_data(session: AsyncSession, account: Account, user: User | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "account": {
            "username": account.username,
            "display_name": account.display_name,
            "note": account.note,
            "fields": account.fields,
            "locked": account.locked,
            "discoverable": account.discoverable,
            "created_at": _iso(account.created_at),
            "suspended_at": _iso(account.suspended_at),
            "silenced_at": _iso(account.silenced_at),
        }
    }
    if user is not None:
        data["login"] = {
            "email": user.email,
            "role": user.role,
            "approved": user.approved,
            "locale": user.locale,
            "default_visibility": user.default_visibility,
            "default_sensitive": user.default_sensitive,
            "default_language": user.default_language,
            "created_at": _iso(user.created_at),
            "password_changed_at": _iso(user.password_changed_at),
        }
        tokens = await session.execute(
            select(OAuthToken, OAuthApp)
            .outerjoin(OAuthApp, OAuthApp.id == OAuthToken.app_id)
            .where(OAuthToken.user_id == user.id)
            .order_by(OAuthToken.id)
        )
        data["authorised_apps"] = [
            {
                "app": app.name if app else None,
                "website": app.website if app else None,
                "scopes": token.scopes,
                "created_at": _iso(token.created_at),
                "last_used_at": _iso(token.last_used_at),
                "revoked_at": _iso(token.revoked_at),
            }
            for token, app in tokens
        ]
    failures = await session.execute(
        select(LoginAttempt.created_at).where(LoginAttempt.key == f"login:{account.username.lower()}")
    )
    data["failed_logins"] = [_iso(at) for at in failures.scalars()]
    reports = await session.execute(select(Report).where(Report.account_id == account.id).order_by(Report.id))
    data["reports_filed"] = [
        {
            "target": (await session.get(Account, report.target_account_id)).uri,  # type: ignore[union-attr]
            "category": report.category,
            "comment": report.comment,
            "created_at": _iso(report.created_at),
            "resolved_at": _iso(report.resolved_at),
        }
        for report in reports.scalars()
    ]
    return data


async def _csv_files(session: AsyncSession, ctx: Context, account: Account) -> dict[str, str]:
    domain = ctx.domain
    follows = await session.execute(
        select(Account, Follow)
        .join(Follow, Follow.target_account_id == Account.id)
        .where(Follow.account_id == account.id)
        .order_by(Follow.id)
    )
    followers = await _accounts_of(
        session,
        select(Account)
        .join(Follow, Follow.account_id == Account.id)
        .where(Follow.target_account_id == account.id)
        .order_by(Follow.id),
    )
    blocked = await _accounts_of(
        session,
        select(Account)
        .join(Block, Block.target_account_id == Account.id)
        .where(Block.account_id == account.id)
        .order_by(Block.id),
    )
    mutes = await session.execute(
        select(Account, Mute)
        .join(Mute, Mute.target_account_id == Account.id)
        .where(Mute.account_id == account.id)
        .order_by(Mute.id)
    )
    domains = await session.execute(
        select(AccountDomainBlock.domain)
        .where(AccountDomainBlock.account_id == account.id)
        .order_by(AccountDomainBlock.id)
    )
    bookmarks = await session.execute(
        select(Status.uri)
        .join(Bookmark, Bookmark.status_id == Status.id)
        .where(Bookmark.account_id == account.id)
        .order_by(Bookmark.id)
    )
    lists = await session.execute(
        select(List.title, Account)
        .join(ListAccount, ListAccount.list_id == List.id)
        .join(Account, Account.id == ListAccount.account_id)
        .where(List.account_id == account.id)
        .order_by(List.id, ListAccount.id)
    )
    return {
        "following_accounts.csv": _csv(
            ["Account address", "Show boosts", "Notify on new posts", "Languages"],
            [
                [_address(a, domain), str(f.show_reblogs).lower(), str(f.notify).lower(), ""]
                for a, f in follows
            ],
        ),
        "followers.csv": _csv(["Account address"], [[_address(a, domain)] for a in followers]),
        "blocked_accounts.csv": "".join(f"{_address(a, domain)}\n" for a in blocked),
        "muted_accounts.csv": _csv(
            ["Account address", "Hide notifications"],
            [[_address(a, domain), str(m.notifications).lower()] for a, m in mutes],
        ),
        "blocked_domains.csv": "".join(f"{name}\n" for name in domains.scalars()),
        "bookmarks.csv": "".join(f"{uri}\n" for uri in bookmarks.scalars()),
        "lists.csv": "".join(f"{title},{_address(a, domain)}\n" for title, a in lists),
    }


async def account_csv_files(ctx: Context, account: Account) -> dict[str, str]:
    """Mastodon's CSV exports of one account (follows, lists, blocks, mutes, domain blocks, bookmarks), by
    file name."""
    async with ctx.db.read() as session:
        return await _csv_files(session, ctx, account)


async def export_account(ctx: Context, username: str, out: Path) -> ExportSummary:
    """Write the zip of `username`'s data to `out`."""
    urls = LocalUrls(ctx.base_url)
    async with ctx.db.read() as session:
        account = await local_account_by_username(session, username)
        if account is None:
            raise ExportError(f"no local account {username!r}")
        user = (await session.execute(select(User).where(User.account_id == account.id))).scalar_one_or_none()
        actor = account_to_actor(
            account, urls, ed25519_public_pem=await ed25519_public_pem(session, account.id)
        )
        outbox, media = await _outbox(session, ctx, account)
        personal = await _personal_data(session, account, user)
        tables = await _csv_files(session, ctx, account)
    root = media_root(ctx.settings.server.data_dir)
    files = 0
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("actor.json", json.dumps(actor, indent=2, ensure_ascii=False))
        archive.writestr("outbox.json", json.dumps(outbox, indent=2, ensure_ascii=False))
        archive.writestr("personal_data.json", json.dumps(personal, indent=2, ensure_ascii=False))
        for name, body in tables.items():
            archive.writestr(name, body)
        for attachment in media:
            path = root / attachment.file_path if attachment.file_path else None
            if path is not None and path.is_file():
                archive.write(path, f"media/{attachment.file_path}")
                files += 1
    return ExportSummary(statuses=outbox["totalItems"], media_files=files)
