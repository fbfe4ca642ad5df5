"""Flag: a remote report about local accounts or statuses, stored for moderators (`plein report list`),
citing only the statuses the reporting server was allowed to see. A report from a domain whose block rejects
reports (`reject_reports`) is dropped, as Mastodon does."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from apub.html import html_to_text
from inbox.errors import Rejected
from storage.bus import Event
from storage.context import Context
from storage.models import Account, Report, Status
from storage.statuses import server_could_see
from webfinger.convert import as_list, id_of
from webfinger.resolve import domain_policy

logger = logging.getLogger(__name__)

MAX_FLAGGED_OBJECTS = 100


async def handle_flag(ctx: Context, activity: dict[str, Any], actor: Account) -> list[Event]:
    """Store a report against the first local account named (or the author of the first local status)."""
    object_ids = [
        ref for item in as_list(activity.get("object"))[:MAX_FLAGGED_OBJECTS] if (ref := id_of(item))
    ]
    if not object_ids:
        raise Rejected("Flag without objects")
    async with ctx.db.transaction() as session:
        if (await domain_policy(ctx, session, actor.domain or "")).reject_reports:
            logger.info("dropped the report %s: %s rejects reports", activity["id"], actor.domain)
            return []
        if (await session.execute(select(Report.id).where(Report.uri == activity["id"]))).first() is not None:
            return []
        accounts = list(
            (
                await session.execute(
                    select(Account).where(Account.uri.in_(object_ids), Account.domain.is_(None))
                )
            ).scalars()
        )
        statuses = list(
            (
                await session.execute(
                    select(Status).where(Status.uri.in_(object_ids), Status.local.is_(True))
                )
            ).scalars()
        )
        target_id = accounts[0].id if accounts else (statuses[0].account_id if statuses else None)
        if target_id is None:
            raise Rejected("Flag names nothing local")
        # Only what the reporting server was allowed to see: the report itself stays, whatever it cites.
        cited = [
            status.id
            for status in statuses
            if status.account_id == target_id and await server_could_see(session, actor.domain or "", status)
        ]
        content = activity.get("content")
        session.add(
            Report(
                uri=activity["id"],
                account_id=actor.id,
                target_account_id=target_id,
                status_ids=cited,
                comment=html_to_text(content)[:5000] if isinstance(content, str) else "",
            )
        )
    return []
