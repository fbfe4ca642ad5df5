"""`plein instance show|set|reset`: the instance's settings an admin may change over the config (its name,
description, contact, registration mode and message, and its texts), the same ones and through the same
`moderation.instance_settings` functions — checks and audit entry — as the admin settings page."""

from __future__ import annotations

import argparse
import sys

import moderation
from plein.admin import AdminError, cli_actor
from storage.context import Context
from storage.instance_profile import FIELDS, TEXT_FIELDS, read_instance_profile


def _shown(field: str, value: str) -> str:
    """A value on one line: a long text by its size (`plein instance show` lists, it does not dump)."""
    if field in TEXT_FIELDS:
        return f"({len(value)} characters)" if value else "(none)"
    return value or "-"


async def _show(ctx: Context) -> int:
    profile = await read_instance_profile(ctx)
    for field in FIELDS:
        stored = profile.overrides.get(field)
        origin = (
            f"set by {stored.updated_by} at {stored.updated_at:%Y-%m-%d %H:%M} UTC"
            if stored is not None
            else "config"
        )
        print(f"{field}\t{_shown(field, profile.value(field))}\t{origin}")
    return 0


async def instance_command(ctx: Context, args: argparse.Namespace) -> int:
    if args.action == "show":
        return await _show(ctx)
    try:
        if args.action == "set":
            value = sys.stdin.read() if args.value == "-" else args.value
            changed = await moderation.change_instance_settings(ctx, {args.key: value}, actor=cli_actor())
            print(f"{args.key} changed" if changed else f"{args.key} unchanged (already that value)")
        else:
            dropped = await moderation.reset_instance_setting(ctx, args.key, actor=cli_actor())
            print(f"{args.key}: the config's value again" if dropped else f"{args.key} was not changed")
    except moderation.InvalidSetting as error:
        known = ", ".join(FIELDS)
        hint = f" (one of {known})" if error.problem == "unknown_field" else ""
        raise AdminError(f"{error}{hint}") from error
    return 0
