"""Commands behind `plein account pending|approve|reject` and `plein invite …`: they call `registration`
and print."""

from __future__ import annotations

import argparse
from datetime import timedelta

import registration
from plein.admin import AdminError, cli_actor
from storage.context import Context
from storage.invites import invite_usable, list_invites
from storage.types import utcnow


async def sign_up_command(ctx: Context, args: argparse.Namespace) -> int:
    """`plein account pending` / `approve NAME` / `reject NAME`."""
    if args.action == "pending":
        for account, user in await registration.pending_sign_ups(ctx):
            confirmed = "confirmed" if user.confirmed_at is not None else "unconfirmed"
            reason = (user.sign_up_reason or "-").replace("\n", " ")
            print(
                f"{account.username}\t{user.email or '-'}\t{confirmed}\t{user.created_at:%Y-%m-%d}\t{reason}"
            )
        return 0
    try:
        if args.action == "approve":
            account = await registration.approve_sign_up(ctx, username=args.username, actor=cli_actor())
            print(f"@{account.username} approved")
        else:
            name = await registration.reject_sign_up(ctx, username=args.username, actor=cli_actor())
            print(f"@{name} rejected: its account is deleted")
    except registration.RegistrationError as error:
        raise AdminError(f"{error.message}: {args.username!r}") from error
    return 0


async def invite_command(ctx: Context, args: argparse.Namespace) -> int:
    """`plein invite create [--max-uses N] [--expires-in-hours H]` / `list` / `revoke ID`."""
    try:
        if args.action == "create":
            hours = args.expires_in_hours
            made = await registration.create_invite(
                ctx,
                actor=cli_actor(),
                max_uses=args.max_uses,
                expires_in=timedelta(hours=hours) if hours is not None else None,
            )
            print(made.url)
            return 0
        if args.action == "revoke":
            await registration.revoke_invite(ctx, args.id, actor=cli_actor())
            print(f"invite {args.id} revoked")
            return 0
    except registration.RegistrationError as error:
        raise AdminError(error.message) from error
    now = utcnow()
    async with ctx.db.read() as session:
        invites = await list_invites(session)
    for invite in invites:
        state = "usable" if invite_usable(invite, now) else "revoked" if invite.revoked_at else "spent"
        uses = f"{invite.uses}/{invite.max_uses if invite.max_uses is not None else '∞'}"
        expires = f"{invite.expires_at:%Y-%m-%d %H:%M}Z" if invite.expires_at else "never"
        print(f"{invite.id}\t{state}\tuses {uses}\texpires {expires}\tmade {invite.created_at:%Y-%m-%d}")
    return 0
