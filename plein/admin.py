"""Administration commands behind `plein account …`, `plein domain …` and `plein report …`."""

from __future__ import annotations

import argparse

from sqlalchemy import select

from storage.accounts import AccountError, create_local_account, local_account_by_username, user_for_account
from storage.context import Context
from storage.domains import (
    allow_domain,
    block_domain,
    disallow_domain,
    list_domain_allows,
    list_domain_blocks,
    normalise_domain,
    unblock_domain,
)
from storage.models import Account, DomainAllow, DomainBlock, Report, User
from storage.oauth import AUTHORITY_CHANGED, revoke_user_tokens
from storage.passwords import generate_password, hash_password, make_hasher
from storage.types import utcnow
from storage.urls import LocalUrls


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
    if action == "list":
        async with ctx.db.read() as session:
            rows = await session.execute(
                select(Account, User).join(User, User.account_id == Account.id).order_by(Account.username)
            )
            for account, user in rows:
                state = "suspended" if account.suspended_at else "active"
                print(f"{account.username}\t{user.role}\t{state}\t{user.email or '-'}\t{account.uri}")
        return 0

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
        elif action in ("suspend", "unsuspend"):
            suspend = action == "suspend"
            if args.dry_run:
                print(f"would {action} @{account.username} (dry run: nothing changed)")
                await session.rollback()
                return 0
            account.suspended_at = utcnow() if suspend else None
            if suspend:
                await revoke_user_tokens(session, user.id)
            print(f"@{account.username} {'suspended' if suspend else 'unsuspended'}")
        elif action == "promote":
            user.role = args.role
            print(f"@{account.username} is now {args.role}")
    if action in ("password", "suspend"):
        ctx.bus.publish(AUTHORITY_CHANGED)  # streams in this process end now; others find out by polling
    return 0


async def domain_command(ctx: Context, args: argparse.Namespace) -> int:
    action = args.action
    if action == "list":
        async with ctx.db.read() as session:
            for block in await list_domain_blocks(session):
                media = " reject-media" if block.reject_media else ""
                print(f"block\t{block.domain}\t{block.severity}{media}\t{block.comment}")
            for domain in await list_domain_allows(session):
                print(f"allow\t{domain}")
        return 0
    try:
        domain = normalise_domain(args.domain)
    except ValueError as error:
        raise AdminError(str(error)) from error
    dry_run = getattr(args, "dry_run", False)
    async with ctx.db.transaction() as session:
        if action == "block":
            exists = await session.get(DomainBlock, domain) is not None
            if dry_run:
                verb = "update the block of" if exists else "block"
                print(f"would {verb} {domain} ({args.severity}) (dry run: nothing changed)")
                return 0
            await block_domain(
                session, domain, severity=args.severity, reject_media=args.reject_media, comment=args.comment
            )
            print(f"blocked {domain} ({args.severity}{', reject media' if args.reject_media else ''})")
        elif action == "unblock":
            if dry_run:
                exists = await session.get(DomainBlock, domain) is not None
                print(
                    f"would {'unblock' if exists else 'leave unblocked'} {domain} (dry run: nothing changed)"
                )
                return 0
            if not await unblock_domain(session, domain):
                raise AdminError(f"{domain} is not blocked")
            print(f"unblocked {domain}")
        elif action == "allow":
            await allow_domain(session, domain)
            print(f"allowed {domain}")
        elif action == "disallow":
            if dry_run:
                exists = await session.get(DomainAllow, domain) is not None
                print(
                    f"would {'disallow' if exists else 'leave off the list'} {domain} (dry run: nothing changed)"
                )
                return 0
            if not await disallow_domain(session, domain):
                raise AdminError(f"{domain} is not on the allow-list")
            print(f"removed {domain} from the allow-list")
    return 0


async def report_command(ctx: Context, args: argparse.Namespace) -> int:
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
