"""`plein org …`: organisation accounts, their members and roles, review, and the audit trail's export."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from sqlalchemy import select

from outbox.actions.review import approve_draft, return_draft
from outbox.errors import ActionError
from plein.admin import AdminError, cli_actor, local_account_in
from storage.accounts import user_for_account
from storage.acting import ActingStaff
from storage.context import Context
from storage.models import Account, ScheduledStatus, User
from storage.oauth import revoke_user_tokens
from storage.organisation_audit import export_audit
from storage.organisation_members import add_member, drop_member
from storage.organisations import (
    OrganisationError,
    make_organisation,
    members_of,
    organisation_of,
    record_audit,
)
from storage.passwords import generate_password, hash_password, make_hasher


def _cli_staff(organisation: Account) -> ActingStaff:
    return ActingStaff(
        organisation_id=organisation.id,
        organisation=organisation.username,
        user_id=None,
        login=cli_actor(),
        role="admin",
        via="cli",
    )


async def _organisation(session: Any, username: str) -> Account:
    account = await local_account_in(session, username)
    if await organisation_of(session, account.id) is None:
        raise AdminError(f"@{account.username} is not an organisation (plein org create {account.username})")
    return account


async def organisation_command(ctx: Context, args: argparse.Namespace) -> int:
    action = args.action
    try:
        if action == "create":
            return await _create(ctx, args)
        if action == "add":
            return await _add(ctx, args)
        if action == "remove":
            return await _remove(ctx, args)
        if action == "members":
            return await _members(ctx, args)
        if action == "audit":
            return await _audit(ctx, args)
        if action == "drafts":
            return await _drafts(ctx, args)
        if action == "approve":
            return await _approve(ctx, args)
        if action == "return":
            return await _return(ctx, args)
    except (OrganisationError, ActionError) as error:
        raise AdminError(str(error)) from error
    raise AdminError(f"unknown action {action}")


async def _create(ctx: Context, args: argparse.Namespace) -> int:
    """Make an account an organisation; its own password is replaced by one nobody knows and its own
    tokens end: from now on staff act for it with their own logins."""
    async with ctx.db.transaction() as session:
        account = await local_account_in(session, args.username)
        existed = await organisation_of(session, account.id) is not None
        await make_organisation(session, account, review_required=args.review == "on")
        if not existed:
            user = await user_for_account(session, account.id)
            if user is not None:
                user.password_hash = hash_password(make_hasher(), generate_password())
                await revoke_user_tokens(session, user.id)
        await record_audit(
            session,
            _cli_staff(account),
            "organisation.settings" if existed else "organisation.create",
            target=account.uri,
            after={"review_required": args.review == "on"},
        )
    review = "authors' posts wait for review" if args.review == "on" else "no review"
    print(f"@{account.username} is an organisation ({review})")
    return 0


async def _add(ctx: Context, args: argparse.Namespace) -> int:
    async with ctx.db.transaction() as session:
        organisation = await _organisation(session, args.organisation)
        member = await local_account_in(session, args.member)
        await add_member(session, organisation, member, args.role, _cli_staff(organisation))
    print(f"@{member.username} is {args.role} of @{organisation.username}")
    return 0


async def _remove(ctx: Context, args: argparse.Namespace) -> int:
    async with ctx.db.transaction() as session:
        organisation = await _organisation(session, args.organisation)
        member = await local_account_in(session, args.member)
        await drop_member(session, organisation, member, _cli_staff(organisation))
    print(f"@{member.username} is no longer a member of @{organisation.username}; their tokens for it ended")
    return 0


async def _members(ctx: Context, args: argparse.Namespace) -> int:
    async with ctx.db.read() as session:
        organisation = await _organisation(session, args.organisation)
        members = await members_of(session, organisation.id)
    for account, role in members:
        print(f"@{account.username}\t{role}")
    return 0


async def _audit(ctx: Context, args: argparse.Namespace) -> int:
    async with ctx.db.read() as session:
        organisation = await _organisation(session, args.organisation)
        text, count = await export_audit(session, organisation.id, args.format)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(text)
        print(f"wrote {count} audit entries to {args.out}")
    else:
        sys.stdout.write(text)
    return 0


async def _drafts(ctx: Context, args: argparse.Namespace) -> int:
    async with ctx.db.read() as session:
        organisation = await _organisation(session, args.organisation)
        rows = list(
            (
                await session.execute(
                    select(ScheduledStatus, Account.username)
                    .outerjoin(User, User.id == ScheduledStatus.submitted_by_user_id)
                    .outerjoin(Account, Account.id == User.account_id)
                    .where(
                        ScheduledStatus.account_id == organisation.id,
                        ScheduledStatus.review_state.is_not(None),
                    )
                    .order_by(ScheduledStatus.id)
                )
            ).all()
        )
    for row, author in rows:
        comment = f"\t{row.review_comment}" if row.review_comment else ""
        print(f"{row.id}\t{row.review_state}\t@{author or '?'}\t{row.params.get('text', '')!r}{comment}")
    return 0


async def _approve(ctx: Context, args: argparse.Namespace) -> int:
    async with ctx.db.read() as session:
        organisation = await _organisation(session, args.organisation)
    row = await approve_draft(ctx, organisation, _cli_staff(organisation), args.draft, at=args.at)
    print(f"draft {row.id} approved: @{organisation.username} publishes it at {row.scheduled_at.isoformat()}")
    return 0


async def _return(ctx: Context, args: argparse.Namespace) -> int:
    async with ctx.db.read() as session:
        organisation = await _organisation(session, args.organisation)
    row = await return_draft(ctx, organisation, _cli_staff(organisation), args.draft, args.comment)
    print(f"draft {row.id} returned to its author")
    return 0
