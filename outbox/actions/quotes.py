"""What the author of a quoted status does about quotes, and what a quote's author sends once approved:
revoke a quote (`Delete` of our stamp), change who may quote a status (`Update` of its Note), and send the
`Update` of a quote post that now carries its stamp (the `quotes` queue, `outbox.quote_jobs`)."""

from __future__ import annotations

from sqlalchemy import select

from apub.builders import build_activity
from outbox.actions._unit import Effects, after_commit, record_activity, urls_of
from outbox.actions.quoting import check_quote_policy
from outbox.actions.statuses import delivery_targets
from outbox.addressing import PRIORITY_DIRECT, DeliveryTargets
from outbox.errors import Forbidden, NotFound
from outbox.render import load_note_parts, note_activity, status_to_note
from storage.context import Context
from storage.models import Account, Quote, Status
from storage.quotes import set_state
from storage.statuses import status_by_id
from storage.stream_events import reach_events


async def _own(session: object, author: Account, status_id: int) -> Status:
    status = await status_by_id(session, status_id)  # type: ignore[arg-type]
    if status is None or status.deleted_at is not None or status.reblog_of_id is not None:
        raise NotFound("Record not found")
    if status.account_id != author.id:
        raise Forbidden("This action is not allowed")
    return status


async def _send_update(
    session: object, ctx: Context, effects: Effects, status: Status, writer: Account
) -> None:
    parts = await load_note_parts(session, status, writer)  # type: ignore[arg-type]
    note = status_to_note(parts, urls_of(ctx), ctx.domain)
    targets = await delivery_targets(session, status, writer, parts.mentions)  # type: ignore[arg-type]
    if parts.quote is not None and parts.quote.quoted_account_id is not None:
        quoted_author = await session.get(Account, parts.quote.quoted_account_id)  # type: ignore[attr-defined]
        targets.add_account(quoted_author, priority=PRIORITY_DIRECT)
    await record_activity(
        session,  # type: ignore[arg-type]
        effects,
        ctx=ctx,
        actor=writer,
        activity_type="Update",
        build=lambda uri: note_activity("Update", uri, note, published=status.edited_at),
        targets=targets,
        status_id=status.id,
        visibility=status.visibility,
    )


async def set_quote_policy(ctx: Context, author: Account, status_id: int, policy: str) -> Status:
    """Who may quote one of the author's statuses from now on; its Note goes out again (`Update`)."""
    check_quote_policy(policy)
    effects = Effects()
    async with ctx.db.transaction() as session:
        status = await _own(session, author, status_id)
        status.quote_policy = policy
        writer = await session.get(Account, author.id)
        assert writer is not None
        await session.flush()
        await _send_update(session, ctx, effects, status, writer)
    after_commit(ctx, effects)
    return status


async def republish_quote(ctx: Context, status_id: int) -> None:
    """Send the `Update` of a local quote post whose approval arrived (the `quotes` queue's job)."""
    effects = Effects()
    async with ctx.db.transaction() as session:
        status = await status_by_id(session, status_id)
        if status is None or status.deleted_at is not None or not status.local:
            return
        writer = await session.get(Account, status.account_id)
        assert writer is not None
        await _send_update(session, ctx, effects, status, writer)
    after_commit(ctx, effects)


async def revoke_quote(
    ctx: Context, author: Account, quoted_status_id: int, quoting_status_id: int
) -> Status:
    """The quoted author withdraws the approval of one quote of their status: the quote shows as revoked
    here, and `Delete` of our stamp goes to the quote's author (and to the followers of both, whose
    servers show the quote)."""
    effects = Effects()
    async with ctx.db.transaction() as session:
        quoted = await _own(session, author, quoted_status_id)
        quote = (
            await session.execute(
                select(Quote).where(Quote.status_id == quoting_status_id, Quote.quoted_status_id == quoted.id)
            )
        ).scalar_one_or_none()
        quoting = await status_by_id(session, quoting_status_id)
        if quote is None or quoting is None or quoting.deleted_at is not None:
            raise NotFound("Record not found")
        stamp = quote.approval_uri
        if quote.state in ("accepted", "pending"):
            set_state(quote, "revoked")
            writer = await session.get(Account, author.id)
            quoter = await session.get(Account, quote.account_id)
            assert writer is not None and quoter is not None
            if stamp is not None and stamp.startswith(urls_of(ctx).actor(writer.username) + "/"):
                targets = DeliveryTargets()
                targets.add_followers_of(writer.id)
                if quoter.domain is None:
                    targets.add_followers_of(quoter.id)
                else:
                    targets.add_account(quoter, priority=PRIORITY_DIRECT)
                await record_activity(
                    session,
                    effects,
                    ctx=ctx,
                    actor=writer,
                    activity_type="Delete",
                    build=lambda uri: build_activity(
                        "Delete", uri, writer.uri, stamp, to=[quoter.uri], cc=[writer.followers_url or ""]
                    ),
                    targets=targets,
                    visibility="direct",
                )
            effects.events += await reach_events(session, quoting, "status.update")
    after_commit(ctx, effects)
    return quoting
