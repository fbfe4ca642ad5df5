"""`plein relay add|remove|list`: subscribing to relays from the command line (the actions are
`outbox.actions.relays`; the serving process's delivery worker sends what they queue)."""

from __future__ import annotations

import argparse

from outbox import actions
from outbox.errors import ActionError
from plein.admin import AdminError, cli_actor
from storage.context import Context
from storage.models import Relay


def relay_line(relay: Relay) -> str:
    """One relay as a tab-separated line: inbox, state, since, last relayed activity, counts, actor."""
    last = relay.last_received_at.isoformat(timespec="seconds") if relay.last_received_at else "-"
    return "\t".join(
        [
            relay.inbox_url,
            relay.state,
            f"since={relay.state_changed_at.isoformat(timespec='seconds')}",
            f"last_received={last}",
            f"received={relay.received_count}",
            f"sent={relay.sent_count}",
            f"actor={relay.actor_uri or '-'}",
        ]
    )


async def relay_command(ctx: Context, args: argparse.Namespace) -> int:
    try:
        if args.action == "list":
            for relay in await actions.list_relays(ctx):
                print(relay_line(relay))
        elif args.action == "add":
            relay = await actions.add_relay(ctx, args.url, actor=cli_actor())
            print(f"relay {relay.inbox_url}: {relay.state} (Follow {relay.follow_uri})")
        elif args.action == "remove":
            relay = await actions.remove_relay(ctx, args.url, actor=cli_actor())
            print(f"relay {relay.inbox_url}: removed (Undo of Follow {relay.follow_uri} queued)")
    except ActionError as error:
        raise AdminError(str(error)) from error
    return 0
