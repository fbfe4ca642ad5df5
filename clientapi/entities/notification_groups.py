"""GroupedNotificationsResults (Mastodon 4.3's `/api/v2/notifications`), NotificationPolicy (v1 and v2) and
NotificationRequest entities."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from clientapi.entities.common import format_time
from clientapi.entities.notifications import (
    STATUS_NOTIFICATION_TYPES,
    accounts_and_statuses,
    is_shown,
    moderation_warnings,
)
from storage.context import Context
from storage.models import Notification, NotificationRequest
from storage.notification_groups import UNGROUPED, GroupData, shown_group_key
from storage.notification_policy import Verdict

PARTIAL_ACCOUNT_FIELDS = ("id", "acct", "locked", "bot", "url", "avatar", "avatar_static")


@dataclass(frozen=True)
class ShownGroup:
    """One group of a page: the notification that stands for it and what the page knows of the group."""

    key: str
    notification: Notification
    sample_account_ids: list[int]
    count: int
    most_recent_id: int
    page_min_id: int
    latest_at: Any


def shown_groups(
    rows: Sequence[Notification], data: dict[str, GroupData], grouped_types: Collection[str]
) -> list[ShownGroup]:
    """The groups of a page: a grouped notification with its group's data, any other alone."""
    groups = []
    for notification in rows:
        key = shown_group_key(notification, grouped_types)
        group = data.get(key) if not key.startswith(UNGROUPED) else None
        if group is None:
            groups.append(
                ShownGroup(
                    key,
                    notification,
                    [notification.from_account_id],
                    1,
                    notification.id,
                    notification.id,
                    notification.created_at,
                )
            )
        else:
            groups.append(
                ShownGroup(
                    key,
                    notification,
                    group.sample_account_ids,
                    group.count,
                    group.most_recent_id,
                    group.page_min_id or notification.id,
                    group.latest_at,
                )
            )
    return groups


async def grouped_results(
    session: AsyncSession,
    ctx: Context,
    groups: Sequence[ShownGroup],
    viewer_id: int,
    *,
    partial_accounts: bool = False,
    paginated: bool = True,
) -> dict[str, Any]:
    """The GroupedNotificationsResults entity: each account and status once, groups referring to them by
    id. A group whose status or accounts can no longer be shown is left out. With `partial_accounts`
    (`expand_accounts=partial_avatars`), only each group's newest account and the statuses' authors are
    rendered in full; the other sample accounts are in `partial_accounts`."""
    account_ids = {account_id for group in groups for account_id in group.sample_account_ids}
    status_ids = {
        group.notification.status_id for group in groups if group.notification.status_id is not None
    }
    by_id, statuses = await accounts_and_statuses(session, ctx, account_ids, status_ids, viewer_id)
    accounts = {str(account_id): entity for account_id, entity in by_id.items()}
    warnings = await moderation_warnings(session, [group.notification for group in groups], by_id)
    entities = []
    full: dict[str, dict[str, Any]] = {}  # accounts rendered in full, by id, in order of appearance
    partial_ids: dict[str, None] = {}
    used_statuses: dict[str, dict[str, Any]] = {}
    for group in groups:
        notification = group.notification
        status_id = str(notification.status_id) if notification.status_id is not None else None
        about_status = notification.notification_type in STATUS_NOTIFICATION_TYPES
        warning = warnings.get(notification.id)
        shown_status = statuses.get(status_id) if status_id is not None else None
        if not is_shown(notification.notification_type, shown_status, warning):
            continue
        sample = [str(account_id) for account_id in group.sample_account_ids if str(account_id) in accounts]
        if not sample:
            continue
        entity: dict[str, Any] = {
            "group_key": group.key,
            "notifications_count": group.count,
            "type": notification.notification_type,
            "most_recent_notification_id": group.most_recent_id,
            "sample_account_ids": sample,
            "status_id": status_id if about_status else None,
            "report": None,
            "event": None,
            "moderation_warning": warning,
        }
        if paginated:
            entity["page_min_id"] = str(group.page_min_id)
            entity["page_max_id"] = str(group.most_recent_id)
            entity["latest_page_notification_at"] = format_time(group.latest_at)
        entities.append(entity)
        if about_status and status_id is not None:
            status = statuses[status_id]
            used_statuses[status_id] = status
            full.setdefault(status["account"]["id"], status["account"])
        full.setdefault(sample[0], accounts[sample[0]])
        for account_id in sample[1:]:
            if partial_accounts:
                partial_ids[account_id] = None
            else:
                full.setdefault(account_id, accounts[account_id])
    results: dict[str, Any] = {
        "accounts": list(full.values()),
        "statuses": list(used_statuses.values()),
        "notification_groups": entities,
    }
    if partial_accounts:
        results["partial_accounts"] = [
            {field: accounts[account_id][field] for field in PARTIAL_ACCOUNT_FIELDS}
            for account_id in partial_ids
            if account_id not in full
        ]
    return results


def policy_to_entity(policy: dict[str, Verdict], summary: tuple[int, int]) -> dict[str, Any]:
    """The v2 NotificationPolicy entity: an action per rule, and how many requests and mentions wait."""
    return {
        **policy,
        "summary": {"pending_requests_count": summary[0], "pending_notifications_count": summary[1]},
    }


def v1_policy_to_entity(policy: dict[str, Verdict], summary: tuple[int, int]) -> dict[str, Any]:
    """The v1 NotificationPolicy entity: a rule "filters" unless it accepts (Mastodon's reading of `drop`)."""
    return {
        "filter_not_following": policy["for_not_following"] != "accept",
        "filter_not_followers": policy["for_not_followers"] != "accept",
        "filter_new_accounts": policy["for_new_accounts"] != "accept",
        "filter_private_mentions": policy["for_private_mentions"] != "accept",
        "summary": {"pending_requests_count": summary[0], "pending_notifications_count": summary[1]},
    }


async def requests_to_entities(
    session: AsyncSession,
    ctx: Context,
    requests: Sequence[NotificationRequest],
    counts: dict[int, int],
    viewer_id: int,
) -> list[dict[str, Any]]:
    """NotificationRequest entities for a page, in a fixed number of queries."""
    if not requests:
        return []
    accounts, statuses = await accounts_and_statuses(
        session,
        ctx,
        {request.from_account_id for request in requests},
        {request.last_status_id for request in requests if request.last_status_id is not None},
        viewer_id,
    )
    return [
        {
            "id": str(request.id),
            "created_at": format_time(request.created_at),
            "updated_at": format_time(request.updated_at),
            "account": accounts[request.from_account_id],
            "notifications_count": str(counts.get(request.id, 0)),
            "last_status": statuses.get(str(request.last_status_id)) if request.last_status_id else None,
        }
        for request in requests
        if request.from_account_id in accounts
    ]
