"""`plein group …`: working groups (FEP-1b12 `Group` actors), their moderators, and the moderators' acts
(take a post out of the group, ban an account from it, lift the ban)."""

from __future__ import annotations

import argparse

from outbox.actions.groups import ban_from_group, remove_from_group, unban_from_group
from outbox.errors import ActionError
from plein.admin import AdminError, account_at, cli_actor, local_account_in
from storage.accounts import AccountError
from storage.audit import add_audit_entry
from storage.context import Context
from storage.groups import GroupError, add_moderator, create_group, is_group, moderators_of, remove_moderator
from storage.ids import parse_id
from storage.models import Account
from storage.statuses import status_by_uri
from storage.urls import LocalUrls


async def group_command(ctx: Context, args: argparse.Namespace) -> int:
    try:
        if args.action == "create":
            return await _create(ctx, args)
        if args.action == "moderator":
            return await _moderator(ctx, args)
        if args.action == "moderators":
            return await _moderators(ctx, args)
        if args.action == "remove":
            return await _remove(ctx, args)
        if args.action in ("ban", "unban"):
            return await _ban(ctx, args)
    except (GroupError, AccountError, ActionError) as error:
        raise AdminError(str(error)) from error
    raise AdminError(f"unknown action {args.action}")


async def _group(session: object, username: str) -> Account:
    account = await local_account_in(session, username)
    if not is_group(account):
        raise AdminError(f"@{account.username} is not a group (plein group create NAME)")
    return account


async def _create(ctx: Context, args: argparse.Namespace) -> int:
    async with ctx.db.transaction() as session:
        group = await create_group(
            session,
            LocalUrls(ctx.base_url),
            args.name,
            display_name=args.display_name or "",
            private=args.private,
        )
        await add_audit_entry(
            session,
            actor=cli_actor(),
            action="group.create",
            target=f"group:{group.id}",
            details={"group": group.username, "private": group.locked},
        )
    print(f"{'private ' if group.locked else ''}group @{group.username} created: {group.uri}")
    return 0


async def _moderator(ctx: Context, args: argparse.Namespace) -> int:
    async with ctx.db.transaction() as session:
        group = await _group(session, args.group)
        account = await local_account_in(session, args.account)
        if args.change == "add":
            changed = await add_moderator(session, group, account)
        else:
            changed = await remove_moderator(session, group, account)
        if changed:
            await add_audit_entry(
                session,
                actor=cli_actor(),
                action=f"group.moderator.{args.change}",
                target=f"group:{group.id}",
                details={"group": group.username, "account": account.uri},
            )
    state = "moderates" if args.change == "add" else "does not moderate"
    print(f"@{account.username} {state} @{group.username}{'' if changed else ' (unchanged)'}")
    return 0


async def _moderators(ctx: Context, args: argparse.Namespace) -> int:
    async with ctx.db.read() as session:
        group = await _group(session, args.group)
        for moderator in await moderators_of(session, group.id):
            print(f"@{moderator.username}")
    return 0


async def _remove(ctx: Context, args: argparse.Namespace) -> int:
    async with ctx.db.read() as session:
        group = await _group(session, args.group)
        moderator = await local_account_in(session, args.by)
        status_id = parse_id(args.status)
        if status_id is None:
            status = await status_by_uri(session, args.status)
            if status is None:
                raise AdminError(f"no status {args.status}")
            status_id = status.id
    status = await remove_from_group(ctx, group, moderator, status_id, reason=args.reason)
    print(f"{status.uri} taken out of @{group.username}")
    return 0


async def _ban(ctx: Context, args: argparse.Namespace) -> int:
    async with ctx.db.read() as session:
        group = await _group(session, args.group)
        moderator = await local_account_in(session, args.by)
    target = await account_at(ctx, args.account)
    if args.action == "unban":
        lifted = await unban_from_group(ctx, group, moderator, target, reason=args.reason)
        print(f"{target.uri} may join @{group.username} again{'' if lifted else ' (was not banned)'}")
        return 0
    done = await ban_from_group(ctx, group, moderator, target, reason=args.reason)
    print(f"{target.uri} is banned from @{group.username}{'' if done else ' (already)'}")
    return 0
