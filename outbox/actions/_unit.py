"""What every local action shares: storing the activity with its delivery jobs in the action's transaction,
and the after-commit step (publish bus events, wake the delivery worker)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from outbox.addressing import DeliveryTargets, enqueue_deliveries
from storage.acting import ACTING_STAFF, ActingStaff
from storage.activities import add_activity, new_activity_id, previous_object
from storage.bus import Event
from storage.context import Context
from storage.deliveries import DELIVER_QUEUE, FAN_OUT_QUEUE
from storage.models import Account, Activity
from storage.organisations import record_audit
from storage.urls import LocalUrls


@dataclass
class Effects:
    """What a transaction produced that must be announced once it has committed."""

    events: list[Event] = field(default_factory=list)
    deliveries: int = 0
    fan_outs: int = 0


def urls_of(ctx: Context) -> LocalUrls:
    return LocalUrls(ctx.base_url)


async def record_activity(
    session: AsyncSession,
    effects: Effects,
    *,
    actor: Account,
    activity_type: str,
    build: Callable[[str], dict[str, Any]],
    targets: DeliveryTargets,
    ctx: Context,
    status_id: int | None = None,
    visibility: str = "public",
    uri: str | None = None,
) -> Activity:
    """Store one activity (`build(uri)` makes its document) and enqueue its deliveries — the followers'
    as one `fan_out` job each (`outbox.addressing.enqueue_deliveries`) — in `session`."""
    activity_id = new_activity_id()
    activity_uri = uri or urls_of(ctx).activity(activity_id)
    activity = await add_activity(
        session,
        activity_id=activity_id,
        uri=activity_uri,
        account_id=actor.id,
        activity_type=activity_type,
        payload=build(activity_uri),
        status_id=status_id,
        visibility=visibility,
    )
    deliveries, fan_outs = await enqueue_deliveries(
        session, activity_id=activity.id, sender_id=actor.id, targets=targets
    )
    effects.deliveries += deliveries
    effects.fan_outs += fan_outs
    staff = ACTING_STAFF.get()
    if staff is not None and staff.organisation_id == actor.id:
        await _audit_activity(session, staff, activity)
    return activity


async def _audit_activity(session: AsyncSession, staff: ActingStaff, activity: Activity) -> None:
    """The organisation's audit entry for an activity a member sent as it, in the same transaction: what
    it changed from (the object as last sent, for an edit, a profile change or a deletion) and to."""
    thing = activity.payload.get("object")
    kind = thing.get("type") if isinstance(thing, dict) else None
    target = thing.get("id") if isinstance(thing, dict) else thing
    before = None
    if activity.activity_type in ("Update", "Delete"):
        before = await previous_object(session, activity)
    await record_audit(
        session,
        staff,
        f"{activity.activity_type} {kind}" if kind else activity.activity_type,
        target=target if isinstance(target, str) else None,
        before=before,
        after=thing if activity.activity_type != "Delete" else None,
    )


def after_commit(ctx: Context, effects: Effects) -> None:
    """Publish the events and wake this process's delivery and fan-out workers for what was enqueued."""
    ctx.bus.publish_all(effects.events)
    if effects.deliveries:
        ctx.wake_worker(DELIVER_QUEUE)
    if effects.fan_outs:
        ctx.wake_worker(FAN_OUT_QUEUE)
