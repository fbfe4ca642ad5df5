"""Administration commands behind `plein account …`, `plein domain …`, `plein report …` and `plein audit …`:
they parse, call `storage` queries or `moderation` actions, and print."""

from __future__ import annotations

import argparse
import getpass
from pathlib import Path

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import moderation
from archive.account_export import ExportError, export_account
from archive.account_import import import_csv
from moderation.agency import set_agency_mark
from moderation.emojis import MAX_EMOJI_BYTES
from outbox import actions
from outbox.actions._unit import Effects, after_commit
from outbox.errors import ActionError
from storage.accounts import AccountError, create_local_account, local_account_by_username, user_for_account
from storage.audit import recent_audit_entries
from storage.context import Context
from storage.custom_emojis import facts_of, local_emojis
from storage.domains import list_domain_allows, list_domain_blocks
from storage.instance_rules import current_rules
from storage.link_trends import link_use_counts
from storage.models import Account, Announcement, Report, Status, User
from storage.oauth import AUTHORITY_CHANGED, revoke_user_tokens
from storage.passwords import generate_password, hash_password, make_hasher
from storage.trends import tag_use_counts, trending_statuses
from storage.types import utcnow
from storage.urls import LocalUrls
from webfinger.resolve import ResolveError, find_account_by_acct, resolve_actor


class AdminError(Exception):
    """A refused admin command (unknown account, invalid name …); the CLI prints it as one line."""


async def account_command(ctx: Context, args: argparse.Namespace) -> int:
    hasher = make_hasher()
    action = args.action
    if action == "create":
        password = args.password or generate_password()
        try:
            async with ctx.db.transaction() as session:
                account = await create_local_account(
                    session,
                    LocalUrls(ctx.base_url),
                    username=args.username,
                    password_hash=hash_password(hasher, password),
                    email=args.email,
                    role=args.role,
                )
        except AccountError as error:
            raise AdminError(str(error)) from error
        print(f"created {args.role} @{account.username}@{ctx.domain} ({account.uri})")
        if not args.password:
            print(f"password: {password}")
        return 0
    if action == "export":
        try:
            summary = await export_account(ctx, args.username, Path(args.out))
        except ExportError as error:
            raise AdminError(str(error)) from error
        print(f"wrote {args.out}: {summary.statuses} statuses, {summary.media_files} media files")
        return 0
    if action in ("alias", "move", "import"):
        return await _migration_command(ctx, args)
    if action == "agency":
        return await _agency_command(ctx, args)
    if action in ("pending", "approve", "reject"):
        from plein.signup_admin import sign_up_command  # it imports this module's AdminError

        return await sign_up_command(ctx, args)
    if action == "delete":
        if not args.yes:
            raise AdminError(f"deleting @{args.username} cannot be undone: add --yes to go ahead")
        try:
            deleted = await actions.delete_local_account(ctx, args.username, actor=cli_actor())
        except ActionError as error:
            raise AdminError(str(error)) from error
        print(
            f"@{args.username} deleted: {deleted.statuses} statuses removed; "
            f"Delete queued for {deleted.servers} servers"
        )
        return 0
    if action == "cancel-deletion":
        try:
            await actions.cancel_account_deletion(ctx, args.username, actor=cli_actor())
        except ActionError as error:
            raise AdminError(str(error)) from error
        print(f"@{args.username}: deletion called off; the account is enabled again")
        return 0
    if action == "list":
        async with ctx.db.read() as session:
            rows = await session.execute(
                select(Account, User).join(User, User.account_id == Account.id).order_by(Account.username)
            )
            for account, user in rows:
                state = "suspended" if account.suspended_at else "active"
                if account.deletion_due_at is not None:
                    state = f"deletion due {account.deletion_due_at:%Y-%m-%d %H:%M}"
                print(f"{account.username}\t{user.role}\t{state}\t{user.email or '-'}\t{account.uri}")
        return 0

    if action in MODERATION_COMMANDS:
        account = await _local(ctx, args.username)
        return await _moderation_command(ctx, account, action, text=args.text, dry_run=args.dry_run)
    if action == "promote":
        account = await _local(ctx, args.username)
        await moderation.change_role(ctx, account.id, args.role, actor=cli_actor())  # audited
        print(f"@{account.username} is now {args.role}")
        return 0

    effects = Effects()
    async with ctx.db.transaction() as session:
        account = await local_account_by_username(session, args.username)
        user = await user_for_account(session, account.id) if account else None
        if account is None or user is None:
            raise AdminError(f"no local account named {args.username!r}")
        if action == "password":
            password = args.password or generate_password()
            user.password_hash = hash_password(hasher, password)
            user.password_changed_at = utcnow()
            # A new password must lock out every session made with the old one.
            await revoke_user_tokens(session, user.id)
            print(f"password of @{account.username} changed; its access tokens are revoked")
            if not args.password:
                print(f"password: {password}")
    after_commit(ctx, effects)
    if action == "password":
        ctx.bus.publish(AUTHORITY_CHANGED)  # streams in this process end now; others find out by polling
    return 0


# What each moderation command prints once done (the web account page's actions, `moderation.moderate_account`).
MODERATION_COMMANDS = {
    "suspend": "suspended",
    "unsuspend": "unsuspended",
    "disable": "login disabled",
    "enable": "login enabled",
    "sensitive": "media forced sensitive",
    "unsensitive": "media no longer forced sensitive",
}


async def _moderation_command(
    ctx: Context, account: Account, action: str, *, text: str, dry_run: bool
) -> int:
    """Moderate a local account, audited as the CLI's with `text` as the why; the CLI never tells the
    account (no warning: a warning is the moderators' message, written on the web or through the API)."""
    try:
        await moderation.moderate_account(
            ctx, account.id, action, actor=cli_actor(), text=text.strip(), dry_run=dry_run
        )
    except moderation.ModerationError as error:
        raise AdminError(f"@{account.username}: {error}") from error
    if dry_run:
        print(f"would {action} @{account.username} (dry run: nothing changed)")
    else:
        print(f"@{account.username}: {MODERATION_COMMANDS[action]}")
    return 0


async def _local(ctx: Context, username: str) -> Account:
    async with ctx.db.read() as session:
        account = await local_account_by_username(session, username)
    if account is None:
        raise AdminError(f"no local account named {username!r}")
    return account


async def local_account_in(session: AsyncSession, username: str) -> Account:
    """The local account a subcommand names (`name` or `@name`), read in the caller's session."""
    account = await local_account_by_username(session, username.lstrip("@"))
    if account is None:
        raise AdminError(f"no local account @{username.lstrip('@')}")
    return account


async def account_at(ctx: Context, reference: str) -> Account:
    """The account an address (`user@host`) or actor URL names, fetched when not known yet."""
    try:
        if reference.startswith(("https://", "http://")):
            return await resolve_actor(ctx, reference, refresh=True)
        found = await find_account_by_acct(ctx, reference, resolve=True)
    except ResolveError as error:
        raise AdminError(f"{reference}: {error}") from error
    if found is None:
        raise AdminError(f"{reference}: no such account")
    return found


async def _migration_command(ctx: Context, args: argparse.Namespace) -> int:
    """Moving accounts: aliases (before moving in), the move itself (moving out), imports of Mastodon CSVs."""
    account = await _local(ctx, args.username)
    try:
        if args.action == "alias":
            aliases = [(await account_at(ctx, reference)).uri for reference in args.accounts]
            await actions.set_aliases(ctx, account, aliases)
            print(f"@{account.username} is also known as: {', '.join(aliases) or 'nobody'}")
        elif args.action == "move":
            target = await account_at(ctx, args.target)
            await actions.move_account(ctx, account, target.uri)
            print(f"@{account.username} moved to {target.uri}; its followers are told")
        else:
            for kind in ("following", "blocks", "mutes", "domain_blocks"):
                path = getattr(args, kind)
                if path:
                    report = await import_csv(ctx, account, kind, Path(path).read_text(encoding="utf-8-sig"))
                    print(f"{kind}: {report.done} imported, {len(report.failed)} failed")
                    for line in report.failed:
                        print(f"  {line}")
    except ActionError as error:
        raise AdminError(str(error)) from error
    return 0


async def _agency_command(ctx: Context, args: argparse.Namespace) -> int:
    """`plein account agency NAME --id ID --website URL` or `--clear`: the verified-agency mark."""
    if args.clear and (args.id is not None or args.website is not None):
        raise AdminError("--clear takes no --id or --website")
    if not args.clear and (args.id is None or args.website is None):
        raise AdminError("give both --id and --website (or --clear)")
    try:
        account = await set_agency_mark(
            ctx, args.username, government_id=args.id, website=args.website, actor=cli_actor()
        )
    except moderation.ModerationError as error:
        raise AdminError(str(error)) from error
    if account.government_id:
        print(
            f"@{account.username} is a government organisation: {account.government_id}, {account.government_website}"
        )
    else:
        print(f"@{account.username} no longer carries the government organisation mark")
    return 0


def cli_actor() -> str:
    """Who runs an admin command, for the audit log: the operating-system user."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in this environment (some containers)
        return "cli"


_VERBS = {
    "domain.block": ("block", "blocked"),
    "domain.unblock": ("unblock", "unblocked"),
    "domain.allow": ("allow", "allowed"),
    "domain.disallow": ("disallow", "disallowed"),
}


def _describe(outcome: moderation.DomainOutcome, note: str = "") -> str:
    """What an action did (or would do) and its counts, the counts line the same for a dry run."""
    verb, done = _VERBS[outcome.action]
    if outcome.dry_run:
        head = f"would {verb} {outcome.domain}{note} (dry run: nothing changed)"
    else:
        head = f"{done} {outcome.domain}{note}" + ("; content purge queued" if outcome.purge_queued else "")
    return f"{head}\n  {outcome.counts.summary()}"


async def rule_command(ctx: Context, args: argparse.Namespace) -> int:
    try:
        if args.action == "add":
            rule = await moderation.add_rule(ctx, args.text, hint=args.hint, actor=cli_actor())
            print(f"rule {rule.id} added")
        elif args.action == "remove":
            await moderation.remove_rule(ctx, args.id, actor=cli_actor())
            print(f"rule {args.id} removed")
        else:
            async with ctx.db.read() as session:
                for rule in await current_rules(session):
                    print(f"{rule.id}\t{rule.text}\t{rule.hint}")
    except moderation.ModerationError as error:
        raise AdminError(str(error)) from error
    return 0


async def announcement_command(ctx: Context, args: argparse.Namespace) -> int:
    try:
        if args.action == "add":
            request = moderation.AnnouncementRequest(
                text=args.text, starts_at=args.starts_at, ends_at=args.ends_at, all_day=args.all_day
            )
            announcement = await moderation.publish_announcement(ctx, request, actor=cli_actor())
            print(f"announcement {announcement.id} published")
        elif args.action == "withdraw":
            await moderation.withdraw_announcement(ctx, args.id, actor=cli_actor())
            print(f"announcement {args.id} withdrawn")
        else:
            async with ctx.db.read() as session:
                rows = await session.execute(select(Announcement).order_by(Announcement.published_at))
                for announcement in rows.scalars():
                    ends = (
                        f"until {announcement.ends_at:%Y-%m-%d %H:%M}" if announcement.ends_at else "no end"
                    )
                    print(
                        f"{announcement.id}\t{announcement.published_at:%Y-%m-%d %H:%M}\t{ends}\t{announcement.text}"
                    )
    except moderation.ModerationError as error:
        raise AdminError(str(error)) from error
    return 0


def _read_emoji_file(path: str) -> bytes:
    try:
        with open(path, "rb") as file:
            # One byte past the limit is enough to refuse it: a huge file is never read whole.
            return file.read(MAX_EMOJI_BYTES + 1)
    except OSError as error:
        raise AdminError(f"cannot read {path}: {error.strerror or error}") from error


async def emoji_command(ctx: Context, args: argparse.Namespace) -> int:
    try:
        if args.action == "add":
            emoji = await moderation.add_emoji(
                ctx,
                args.shortcode,
                _read_emoji_file(args.file),
                category=args.category,
                visible_in_picker=not args.hidden,
                actor=cli_actor(),
            )
            print(f":{emoji.shortcode}: added")
        elif args.action == "remove":
            await moderation.remove_emoji(ctx, args.shortcode, actor=cli_actor())
            print(f":{args.shortcode}: removed")
        else:
            urls = LocalUrls(ctx.base_url)
            async with ctx.db.read() as session:
                for emoji in await local_emojis(session):
                    facts = facts_of(emoji, urls)
                    shown = "" if emoji.visible_in_picker else "\thidden"
                    print(f":{emoji.shortcode}:\t{emoji.category or '-'}\t{facts['url']}{shown}")
    except moderation.ModerationError as error:
        raise AdminError(str(error)) from error
    return 0


async def trends_command(ctx: Context, args: argparse.Namespace) -> int:
    try:
        if args.action in ("allow-tag", "reject-tag"):
            name = await moderation.review_tag(
                ctx, args.name, allow=args.action == "allow-tag", actor=cli_actor()
            )
            print(f"#{name} {'may trend' if args.action == 'allow-tag' else 'will not trend'}")
        elif args.action in ("allow-status", "reject-status"):
            await moderation.review_status(
                ctx, args.id, allow=args.action == "allow-status", actor=cli_actor()
            )
            print(f"status {args.id} {'may trend' if args.action == 'allow-status' else 'will not trend'}")
        elif args.action in ("allow-link", "reject-link"):
            await moderation.review_link(ctx, args.url, allow=args.action == "allow-link", actor=cli_actor())
            print(f"{args.url} {'may trend' if args.action == 'allow-link' else 'will not trend'}")
        else:
            now = utcnow()
            async with ctx.db.read() as session:
                counted = await tag_use_counts(session, now=now, reviewed_only=False, limit=args.limit)
                found = await trending_statuses(session, now=now, viewer_id=None, limit=args.limit)
                links = await link_use_counts(session, now=now, reviewed_only=False, limit=args.limit)
            print("hashtags (accounts, uses, review):")
            for row in counted:
                review = {True: "allowed", None: "to review"}[row.tag.trendable]
                print(f"  #{row.tag.name}\t{row.accounts}\t{row.uses}\t{review}")
            print("links (accounts, uses, review):")
            for link in links:
                review = {True: "allowed", None: "to review"}[link.card.trendable]
                print(f"  {link.card.url}\t{link.accounts}\t{link.uses}\t{review}")
            print("statuses (favourites + boosts):")
            for status in found:
                print(f"  {status.id}\t{status.favourites_count + status.reblogs_count}\t{status.uri}")
    except moderation.ModerationError as error:
        raise AdminError(str(error)) from error
    return 0


async def domain_command(ctx: Context, args: argparse.Namespace) -> int:
    action = args.action
    if action == "list":
        async with ctx.db.read() as session:
            for block in await list_domain_blocks(session):
                flags = "".join(
                    f" {name.replace('_', '-')}"
                    for name in ("reject_media", "reject_reports", "obfuscate")
                    if getattr(block, name)
                )
                comments = f"{block.public_comment}\t{block.private_comment}"
                print(f"block\t{block.domain}\t{block.severity}{flags}\t{comments}")
            for domain in await list_domain_allows(session):
                print(f"allow\t{domain}")
        return 0
    options = {"actor": cli_actor(), "dry_run": getattr(args, "dry_run", False)}
    try:
        if action == "block":
            outcome = await moderation.block_domain(
                ctx,
                args.domain,
                severity=args.severity,
                reject_media=args.reject_media,
                reject_reports=args.reject_reports,
                public_comment=args.public_comment,
                private_comment=args.private_comment,
                obfuscate=args.obfuscate,
                **options,
            )
            media = ", reject media" if args.reject_media else ""
            print(_describe(outcome, f" ({args.severity}{media})"))
        elif action == "unblock":
            print(_describe(await moderation.unblock_domain(ctx, args.domain, **options)))
        elif action == "allow":
            print(_describe(await moderation.allow_domain(ctx, args.domain, **options)))
        elif action == "disallow":
            print(_describe(await moderation.disallow_domain(ctx, args.domain, **options)))
    except moderation.ModerationError as error:
        raise AdminError(str(error)) from error
    return 0


async def audit_command(ctx: Context, args: argparse.Namespace) -> int:
    async with ctx.db.read() as session:
        for entry in await recent_audit_entries(
            session, limit=args.limit, action=args.action, actor=args.actor
        ):
            details = orjson.dumps(entry.details, option=orjson.OPT_SORT_KEYS).decode()
            print(
                f"{entry.created_at:%Y-%m-%d %H:%M:%S}\t{entry.actor}\t{entry.action}\t{entry.target}\t{details}"
            )
    return 0


async def report_command(ctx: Context, args: argparse.Namespace) -> int:
    if args.action == "list":
        async with ctx.db.read() as session:
            rows = await session.execute(
                select(Report, Account.uri)
                .join(Account, Account.id == Report.target_account_id)
                .where(Report.resolved_at.is_(None))
                .order_by(Report.id)
            )
            for report, target_uri in rows:
                statuses = len(report.status_ids or [])
                print(
                    f"{report.id}\t{report.created_at:%Y-%m-%d %H:%M}\t{target_uri}\t{statuses} status(es)\t{report.comment}"
                )
        return 0
    if args.action == "show":
        return await _show_report(ctx, args.id)
    options = {"actor": cli_actor(), "note": args.note}
    try:
        if args.action == "resolve":
            await moderation.resolve_report(ctx, args.id, **options)
            print(f"report {args.id} resolved")
        elif args.suspend:
            await moderation.suspend_reported_account(ctx, args.id, **options)
            print(f"report {args.id}: account suspended; report resolved")
        elif args.silence:
            await moderation.silence_reported_account(ctx, args.id, **options)
            print(f"report {args.id}: account silenced; report resolved")
        else:
            deleted = await moderation.delete_reported_statuses(ctx, args.id, **options)
            print(f"report {args.id}: {deleted} status(es) deleted; report resolved")
    except moderation.ModerationError as error:
        raise AdminError(str(error)) from error
    return 0


async def _show_report(ctx: Context, report_id: int) -> int:
    async with ctx.db.read() as session:
        report = await session.get(Report, report_id)
        if report is None:
            raise AdminError(f"no report {report_id}")
        reporter = await session.get(Account, report.account_id)
        target = await session.get(Account, report.target_account_id)
        assert reporter is not None and target is not None
        statuses = (
            (await session.execute(select(Status).where(Status.id.in_(report.status_ids or []))))
            .scalars()
            .all()
        )
    state = f"resolved {report.resolved_at:%Y-%m-%d %H:%M}" if report.resolved_at else "open"
    print(f"report {report.id} ({state}), {report.created_at:%Y-%m-%d %H:%M}, category {report.category}")
    print(f"reporter: {reporter.uri}")
    print(f"target: {target.uri}")
    print(f"forwarded: {'yes' if report.forwarded else 'no'}")
    print(f"comment: {report.comment}")
    if report.rule_ids:
        print(f"rules broken: {', '.join(str(rule_id) for rule_id in report.rule_ids)}")
    for status in statuses:
        print(f"status {status.id}: {status.uri}{' (deleted)' if status.deleted_at else ''}")
    if report.resolution_note:
        print(f"note: {report.resolution_note}")
    return 0
